"""Country lookup: ISO 3166 alpha-2 codes and names in English and German."""

from __future__ import annotations

import gettext
from functools import lru_cache

import pycountry


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


@lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    german = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["de"], fallback=True)
    index: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        names = {country.name, getattr(country, "official_name", None), getattr(country, "common_name", None)}
        for name in tuple(names):  # a copy: the loop adds to the set
            if name:
                names.add(german.gettext(name))
        for name in names:
            if name:
                index.setdefault(_fold(name), code)
        index[_fold(code)] = code
    return index


def to_alpha2(value: str) -> str | None:
    """The alpha-2 code for a code or a country name, or None if unknown."""
    return _index().get(_fold(value))


@lru_cache(maxsize=512)
def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code) if code else None
    return str(getattr(country, "common_name", None) or getattr(country, "name", code)) if country else code


def choices() -> list[tuple[str, str]]:
    """(code, name) pairs sorted by name, for select boxes."""
    return sorted(((c.alpha_2, country_name(c.alpha_2)) for c in pycountry.countries), key=lambda p: p[1])
