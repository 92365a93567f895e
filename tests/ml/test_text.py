from ml.text import clean_text, model_text


def test_clean_text_strips_imdb_line_breaks_and_entities() -> None:
    assert clean_text("Great<br /><br />film &amp; cast  ") == "Great film & cast"


def test_clean_text_is_idempotent() -> None:
    once = clean_text("A <i>fine</i>\n\tfilm<br/>")
    assert clean_text(once) == once == "A fine film"


def test_model_text_marks_negation_scope_until_punctuation() -> None:
    assert (
        model_text("Not good at all. Great ending!") == "not not_good not_at not_all great ending"
    )


def test_model_text_handles_contractions() -> None:
    assert model_text("I didn't like it") == "i didn't not_like not_it"


def test_model_text_of_markup_only_is_empty() -> None:
    assert model_text("<br /><br />") == ""
