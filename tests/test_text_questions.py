"""Answer-type labels for WikiTableQuestions: the rules on hand-picked answers, then the real files."""

import pytest

from iglib.experiments.text import questions as qs


@pytest.mark.parametrize("answer, canon, label, rule", [
    # 1. yes/no wins, even over targetCanonType (which calls it "string")
    ("yes", None, "YESNO", "yes-no"),
    ("No", "string", "YESNO", "yes-no"),
    # 2. a bare year or a season is a DATETIME, even where targetCanonType says "number"/"string"
    ("2004", None, "DATETIME", "year"),
    ("1964", "number", "DATETIME", "year"),
    ("1987-88", "string", "DATETIME", "year"),
    ("2003/04", None, "DATETIME", "year"),
    ("2002|2007", "number", "DATETIME", "year"),
    ("1188", None, "DATETIME", "year"),  # the documented ambiguity: a count inside the year range
    ("3090", None, "NUMERIC", "number-pattern"),  # four digits outside 1000..2029: a number
    ("12,467", None, "NUMERIC", "number-pattern"),  # a thousands separator: never a year
    # 3. targetCanonType where present
    ("12,467", "number", "NUMERIC", "canon-type"),
    ("Italy", "string", "STRING", "canon-type"),
    ("1 February 2013", "date", "DATETIME", "canon-type"),
    ("May", "string", "STRING", "canon-type"),
    # 4.-6. the value rules, where there is no canonical type
    ("January 26, 1995", None, "DATETIME", "date-pattern"),
    ("27 Aug 2005", None, "DATETIME", "date-pattern"),
    ("October", None, "DATETIME", "date-pattern"),
    ("2004-02-27", None, "DATETIME", "date-pattern"),
    ("01/16/2014", None, "DATETIME", "date-pattern"),
    ("1999|May 2003", None, "DATETIME", "date-pattern"),
    ("10 years", None, "NUMERIC", "number-pattern"),
    ("$1.56 billion", None, "NUMERIC", "number-pattern"),
    ("2nd", None, "NUMERIC", "number-pattern"),
    (".25", None, "NUMERIC", "number-pattern"),
    ("-3", None, "NUMERIC", "number-pattern"),
    ("50%", None, "NUMERIC", "number-pattern"),
    ("3|4", None, "NUMERIC", "number-pattern"),
    ("Bangkok, Thailand", None, "STRING", "other"),
    ("3 Doors Down", None, "STRING", "other"),
    ("Maybe", None, "STRING", "other"),
    ("Siim Ennemuist|Andri Aganits", None, "STRING", "other"),
    ("Jane Monheit|2002", "mixed", "STRING", "other"),  # values of different types
    ("yes|3", None, "STRING", "other"),
])
def test_label_from_the_answer(answer, canon, label, rule):
    assert qs.label_answer(answer, canon) == (label, rule)


def test_every_rule_and_label_is_listed():
    assert set(qs.RULES) == {"yes-no", "year", "canon-type", "date-pattern", "number-pattern", "other"}
    assert qs.LABELS == ("NUMERIC", "DATETIME", "YESNO", "STRING")


def test_real_files_are_labelled_with_their_rules():
    training, unseen = qs.load("training"), qs.load("unseen")
    assert len(training) == 14152 and len(unseen) == 4344
    first = dict(zip(training.ids, zip(training.answers, training.labels, training.rules)))
    assert first["nt-0"] == ("2004", "DATETIME", "year")  # "what was the last year where this team ..."
    assert first["nt-1"] == ("Bangkok, Thailand", "STRING", "other")
    assert first["nt-3"] == ("12,467", "NUMERIC", "number-pattern")
    tagged = dict(zip(unseen.ids, zip(unseen.labels, unseen.rules)))
    assert tagged["nu-0"] == ("STRING", "canon-type")  # Italy
    assert tagged["nu-1"] == ("NUMERIC", "canon-type")  # 100,000
    assert set(training.rules) <= {"yes-no", "year", "date-pattern", "number-pattern", "other"}  # no canonical types
    assert unseen.rule_shares()["canon-type"] > 0.9
    for q in (training, unseen):
        assert sum(q.rule_shares().values()) == pytest.approx(1.0)
        assert sum(q.label_counts().values()) == len(q)
        assert min(q.label_counts().values()) > 0


def test_value_rules_agree_with_the_canonical_types():
    assert qs.canon_agreement() > 0.99


def test_questions_subset_and_concatenation():
    q = qs.Questions(["a", "b", "c"], ["q1", "q2", "q3"], ["1", "yes", "x"], ["NUMERIC", "YESNO", "STRING"],
                     ["number-pattern", "yes-no", "other"], ["training"] * 3)
    assert q.subset([2, 0]).ids == ["c", "a"]
    assert q.subset([False, True, False]).labels == ["YESNO"]
    both = q + q.subset([1])
    assert len(both) == 4 and both.label_counts() == {"NUMERIC": 1, "DATETIME": 0, "YESNO": 2, "STRING": 1}
    with pytest.raises(ValueError, match="split must be"):
        qs.load("dev")
