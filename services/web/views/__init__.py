"""The pages, one module per audience."""

from services.web.views import (
    account,
    admin,
    employer,
    endorsements,
    payments,
    public,
    student,
    university,
    webhooks,
)

BLUEPRINTS = (
    public.blp,
    account.blp,
    student.blp,
    employer.blp,
    university.blp,
    admin.blp,
    webhooks.blp,
    payments.blp,
    endorsements.blp,
)
