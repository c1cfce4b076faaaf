"""Real dev/test servers without Docker: Apache Kafka (KRaft) and FerretDB (SQLite).

    from devservers import start_all
    kafka, ferret = start_all(".run")   # builds into ~/.cache/stint on first use
    kafka.bootstrap, ferret.url

CLI: python -m devservers {build,up,down,status}. Test helper: devservers.pytest_support.
"""

from ._process import ServerError, free_port
from .build import FERRETDB_VERSION, KAFKA_VERSION, build_all, cache_dir
from .servers import KIND, FerretServer, KafkaServer, start_all

__all__ = [
    "FERRETDB_VERSION",
    "KAFKA_VERSION",
    "KIND",
    "FerretServer",
    "KafkaServer",
    "ServerError",
    "build_all",
    "cache_dir",
    "free_port",
    "start_all",
]
