import re
import tomllib
from pathlib import Path

import pytest

from mpcheckout import errors, i18n
from mpcheckout.i18n import SUPPORTED_LOCALES, Translator, catalog, resolve_locale

PACKAGE = Path(errors.__file__).resolve().parent
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# t("key"), _("key"), message_key="key", hint_key="key", AppError subclasses' first argument.
USED_KEY = re.compile(
    r"""(?:\b_|\bt|message_key\s*=|hint_key\s*=|Error)\(?\s*f?["']((?:error|hint|help|label|"""
    r"""col|status|ingest|init|config|db|events|progress|process|dlq|orders|reconcile|"""
    r"""alerts|serve|checkout|sandbox|demo|mp|health)\.[a-z_.]+)["']"""
)


def test_every_catalog_has_every_key():
    english = catalog("en")
    for locale in SUPPORTED_LOCALES:
        assert catalog(locale).keys() == english.keys(), locale


def test_placeholders_agree_across_catalogs():
    english = catalog("en")
    for locale in SUPPORTED_LOCALES:
        for key, text in catalog(locale).items():
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(english[key])), (
                locale,
                key,
            )


def test_every_key_the_code_uses_is_in_the_catalog():
    english = catalog("en")
    missing = set()
    for source in PACKAGE.rglob("*.py"):
        for key in USED_KEY.findall(source.read_text()):
            if key not in english and not key.endswith("."):
                missing.add(f"{source.name}: {key}")
    assert not missing, sorted(missing)


def test_every_error_class_message_exists():
    english = catalog("en")
    for value in vars(errors).values():
        if isinstance(value, type) and issubclass(value, errors.AppError):
            assert value.message_key in english, value


def test_spanish_is_the_default_and_lang_picks_the_language():
    assert resolve_locale(None, {}) == "es"
    assert resolve_locale(None, {"LANG": "pt_BR.UTF-8"}) == "pt"
    assert resolve_locale("en", {"LANG": "pt_BR.UTF-8"}) == "en"
    assert resolve_locale(None, {"MPCHECKOUT_LOCALE": "en", "LANG": "pt_BR"}) == "en"
    assert resolve_locale(None, {"LANG": "de_DE.UTF-8"}) == "es"


def test_translation_fills_placeholders_and_survives_a_missing_one():
    t = Translator("en")
    assert t("error.input_missing", path="x.json") == "Input x.json does not exist."
    assert "{path}" in t("error.input_missing")
    assert Translator("es")("ingest.queued") != Translator("en")("ingest.queued")


def test_every_discrepancy_kind_is_named_and_explained():
    from mpcheckout.money import DiscrepancyKind

    english = catalog("en")
    for kind in DiscrepancyKind:
        assert f"money.kind_{kind}" in english and f"money.check_{kind}" in english, kind


def test_every_catalog_file_reads_as_tomllib_reads_it_without_tomllib():
    for path in sorted((PACKAGE / "i18n").glob("*/*.toml")):
        text = path.read_text(encoding="utf-8")
        reference = dict(i18n._flatten(tomllib.loads(text)))
        assert i18n._read_plain_lines(text) == reference, path.name
        assert i18n.read_catalog_file(text) == reference, path.name


def test_other_toml_in_a_catalog_file_is_left_to_tomllib():
    text = (
        '[help]\nopt = "a \\"quoted\\" \\\\ word"  # a comment\n'
        'multi = """two\nlines"""\narg.name = "dotted"\n[help.panel]\ntitle = "x"\n'
    )
    assert i18n._read_plain_lines(text) is None
    assert i18n.read_catalog_file(text) == dict(i18n._flatten(tomllib.loads(text)))
    for broken in ('[a]\nk = "1"\nk = "2"\n', "[a]\n[a]\n", 'a = "1"\n[a]\n'):
        assert i18n._read_plain_lines(broken) is None
        with pytest.raises(tomllib.TOMLDecodeError):
            i18n.read_catalog_file(broken)
