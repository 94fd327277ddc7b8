"""Realistic demo customers, inserted in bulk."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.base import utcnow
from app.customers.models import BILLING, SHIPPING, Address, Customer
from app.customers.search import search_text, sort_name

FIRST = (
    "Anna Ben Clara David Emma Felix Greta Hannah Ida Jonas Karl Lena Lukas Marie Max Mia Noah Olga Paul Quirin "
    "Rosa Sophie Tim Ursula Valentin Wilhelm Yara Zoe Jürgen Björn Sören Renée Ömer Élodie Chloé José Ana John Mehmet Aylin"
).split()
LAST = (
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer Richter Klein Wolf "
    "Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange Schmitt Werner Krause Meier Lehmann "
    "Köhler Herrmann König Walter Mayer Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Vogel Friedrich Keller"
).split()
COMPANY_WORDS = "Nord Süd Alpen Spree Rhein Elbe Blau Grün Stern Licht Holz Stahl Brot Kaffee Blumen Mode Technik Bau".split()
COMPANY_KINDS = ("GmbH", "AG", "KG", "e.K.", "GmbH & Co. KG", "UG")
CITIES = (
    ("Berlin", "Berlin", "10"),
    ("Hamburg", "Hamburg", "20"),
    ("München", "Bayern", "80"),
    ("Köln", "Nordrhein-Westfalen", "50"),
    ("Frankfurt am Main", "Hessen", "60"),
    ("Stuttgart", "Baden-Württemberg", "70"),
    ("Düsseldorf", "Nordrhein-Westfalen", "40"),
    ("Leipzig", "Sachsen", "04"),
    ("Dresden", "Sachsen", "01"),
    ("Bremen", "Bremen", "28"),
    ("Hannover", "Niedersachsen", "30"),
    ("Nürnberg", "Bayern", "90"),
    ("Potsdam", "Brandenburg", "14"),
    ("Freiburg", "Baden-Württemberg", "79"),
)
STREETS = "Haupt Bahnhof Garten Schul Berg Linden Kirch Wald Ring Voltastraße Friedrich Goethe Schiller Mozart".split()
TITLES = ("Mr.", "Mrs.", "Ms.", "")
DOMAINS = ("example.com", "example.org", "example.net", "mail.example")


def _ascii(text: str) -> str:
    table = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "è": "e", "ó": "o", "í": "i"})
    return text.lower().translate(table)


def _customer_row(rng: random.Random, account_id: int, scoped_id: int, now: datetime) -> tuple[dict, dict]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    b2b = rng.random() < 0.25
    company = f"{rng.choice(COMPANY_WORDS)}{rng.choice(COMPANY_WORDS).lower()} {rng.choice(COMPANY_KINDS)}" if b2b else ""
    city, state, zip_prefix = rng.choice(CITIES)
    birthday = datetime(1940, 1, 1, tzinfo=timezone.utc) + timedelta(days=rng.randrange(0, 365 * 65))
    customer = dict(
        account_id=account_id,
        account_scoped_id=scoped_id,
        title=rng.choice(TITLES),
        first_name=first,
        last_name=last,
        company=company,
        email=f"{_ascii(first)}.{_ascii(last)}{scoped_id}@{rng.choice(DOMAINS)}",
        phone_number=f"0{rng.randrange(30, 999)} {rng.randrange(100000, 9999999)}",
        phone_type="normal",
        country_code="49",
        note="",
        tax_number=f"DE{rng.randrange(100000000, 999999999)}" if b2b else "",
        channel=1,
        birthday=None if rng.random() < 0.3 else birthday,
        email_marketing_agreed=rng.random() < 0.4,
        is_b2b=b2b,
        is_favourite=rng.random() < 0.05,
        is_vip=rng.random() < 0.08,
        is_confirmed=rng.random() < 0.7,
        created_at=now,
        updated_at=now,
        version=1,
    )
    customer["city"] = city
    customer["sort_name"] = sort_name(first, last, company)
    customer["search_text"] = search_text(first, last, company, customer["email"], customer["phone_number"], city)
    address = dict(
        account_id=account_id,
        kind=BILLING,
        position=0,
        title=customer["title"],
        first_name=first,
        last_name=last,
        company=company,
        address1=f"{rng.choice(STREETS)}straße {rng.randrange(1, 180)}",
        address2="",
        zipcode=f"{zip_prefix}{rng.randrange(100, 999)}",
        city=city,
        state=state,
        country="DE",
    )
    return customer, address


def seed(session: Session, account_id: int, count: int, batch: int = 5000, progress: Callable[[int], None] | None = None, rng_seed: int | None = None) -> int:
    """Insert ``count`` customers, each with a billing address and some with a shipping one."""
    rng = random.Random(rng_seed)
    now = utcnow()
    if session.in_transaction():
        session.commit()
    done = 0
    while done < count:
        size = min(batch, count - done)
        connection = session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        last = connection.execute(
            update(Account).where(Account.id == account_id).values(customer_seq=Account.customer_seq + size).returning(Account.customer_seq)
        ).scalar_one()
        pairs = [_customer_row(rng, account_id, last - size + 1 + i, now) for i in range(size)]
        favourites = sum(1 for c, _ in pairs if c["is_favourite"])
        connection.execute(
            update(Account)
            .where(Account.id == account_id)
            .values(customer_count=Account.customer_count + size, favourite_count=Account.favourite_count + favourites)
        )
        ids = session.scalars(
            insert(Customer).returning(Customer.id, sort_by_parameter_order=True), [c for c, _ in pairs]
        ).all()
        addresses = []
        for customer_id, (_, address) in zip(ids, pairs, strict=True):
            address["customer_id"] = customer_id
            addresses.append(address)
            if rng.random() < 0.1:
                addresses.append({**address, "kind": SHIPPING, "address1": f"{rng.choice(STREETS)}weg {rng.randrange(1, 90)}"})
        session.execute(insert(Address), addresses)
        session.commit()
        done += size
        if progress:
            progress(size)
    return done
