"""The fields and rules of a new webhook endpoint, declared once."""

from __future__ import annotations

from wtforms import Form, ValidationError
from wtforms.fields import SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from app.shared.inputs import SelectChoice, strip
from app.webhooks import targets
from app.webhooks.service import EVENT_TYPES

MAX_URL = 2000


def _reachable(form: Form, field: StringField) -> None:
    refused = targets.refusal(field.data or "")
    if refused:
        raise ValidationError(refused)


class EndpointForm(Form):
    url = StringField(
        "URL",
        [DataRequired(message="Give the URL to post changes to."), Length(max=MAX_URL, message=f"At most {MAX_URL} characters."), _reachable],
        filters=(strip,),
        description="An https:// URL of the receiving program, on a public address.",
    )
    events = SelectMultipleField(
        "Changes",
        [DataRequired(message="Choose at least one kind of change.")],
        choices=[SelectChoice(kind, f"customer {kind}") for kind in EVENT_TYPES],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
    )
