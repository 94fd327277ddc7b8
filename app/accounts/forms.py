"""The fields and rules of a back-office user, declared once (pages and CLI)."""

from __future__ import annotations

from wtforms import Form, ValidationError
from wtforms.fields import PasswordField, SelectField, StringField
from wtforms.validators import Email, InputRequired, Length

from app.accounts.service import MIN_PASSWORD_LENGTH, ROLES
from app.shared.inputs import SelectChoice, plain_text, strip
from app.web.widgets import EmailInput, PasswordInput


class UserForm(Form):
    class Meta:
        editing = False

    email = StringField(
        "Email",
        [InputRequired(message="Enter an email address."), plain_text, Length(max=254), Email(message="Not a valid email address.")],
        filters=(strip, lambda v: v.lower() if isinstance(v, str) else v),
        widget=EmailInput(),
        render_kw={"autocomplete": "off"},
    )
    name = StringField("Name", [plain_text, Length(max=200, message="At most 200 characters.")], filters=(strip,), default="")
    role = SelectField("Role", choices=[SelectChoice(r, r.capitalize()) for r in ROLES], default="staff")
    password = PasswordField(
        "Password", description="Leave empty to keep the current password.", widget=PasswordInput(), render_kw={"autocomplete": "new-password"}
    )

    def validate_password(self, field: PasswordField) -> None:
        if not field.data:
            if not self.meta.editing:
                raise ValidationError("Enter a password.")
            return
        if len(field.data) < MIN_PASSWORD_LENGTH:
            raise ValidationError(f"At least {MIN_PASSWORD_LENGTH} characters.")
        if len(field.data) > 1024:
            raise ValidationError("At most 1024 characters.")
