"""The fields and rules of a new OAuth2 app, declared once."""

from __future__ import annotations

from wtforms import Form
from wtforms.fields import SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from app.accounts.tokens import RESOURCE_SCOPES
from app.integrations.service import MAX_NAME
from app.shared.inputs import SelectChoice, plain_text, strip


def scope_choices() -> list[SelectChoice]:
    choices = []
    for resource, actions in RESOURCE_SCOPES.items():
        choices.append(SelectChoice(resource, f"{resource} (everything)"))
        choices.extend(SelectChoice(f"{resource}:{action}", f"{resource}:{action}") for action in actions)
    return choices


class AppForm(Form):
    name = StringField(
        "Name",
        [DataRequired(message="Give the app a name."), plain_text, Length(max=MAX_NAME, message=f"At most {MAX_NAME} characters.")],
        filters=(strip,),
        description="Who uses it, such as the shop system or the accounting export.",
    )
    scopes = SelectMultipleField(
        "Scopes",
        [DataRequired(message="Choose at least one scope.")],
        choices=scope_choices(),
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
    )
