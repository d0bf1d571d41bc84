"""WikiTableQuestions, each question labelled NUMERIC, DATETIME, YESNO or STRING by its answer.

The paper's question classifier predicts the type of a question's answer. The label is taken
from the ANSWER (``targetValue``), never from the question's wording: a label read off the
wording ("how many" -> NUMERIC) would make the triggers that IG later finds in the questions
circular.

Rules, first match wins; ``label_answer`` returns the label and the rule that decided it.
A multi-valued answer (``a|b|c``) is labelled value by value; the values must agree, else STRING.

1. ``yes-no``: every value is "yes" or "no" -> YESNO. (``targetCanonType`` has no yes/no
   type: it calls these "string".)
2. ``year``: every value is a bare year (four digits, 1000..2029, no separator) or a season
   (``1987-88``, ``2003/04``, ``2012-2013``) -> DATETIME. ``targetCanonType`` calls a bare year
   "number" (and a season "string"), yet a year names a point in time: the paper's DATETIME
   triggers are "what year" and "when". The ambiguity: a count or amount that happens to lie in
   1000..2029 ("1188" people) is labelled DATETIME too. In the tagged files 383 answers are bare
   four-digit numbers; 8 of those questions start with "how many", 3 of which fall in the year
   range (1112, 1188; 2061 does not). Over the whole corpus the rule decides 1161 labels and 7
   of those questions start with "how many": under 1% are such counts. (The wording is used
   only to measure this, never to label.)
3. ``canon-type``: the tagged files' ``targetCanonType``, given by CoreNLP's value
   canonicalisation: number -> NUMERIC, date -> DATETIME, string -> STRING. ("mixed", for
   answers whose values have different types, falls through to the value rules.)
4. ``date-pattern``: a month name with an optional day and year (``January 26, 1995``,
   ``27 Aug 2005``, ``October``), or a numeric date (``2004-02-27``, ``01/16/2014``) -> DATETIME.
5. ``number-pattern``: a numeral, optionally signed, with thousands separators, decimals, an
   ordinal suffix, a leading ``#`` or currency sign, a ``%`` or up to two lowercase unit words
   (``12,467``, ``.25``, ``2nd``, ``$1.56 billion``, ``10 years``, ``61.10 m``) -> NUMERIC.
6. ``other``: anything else -> STRING.

Rules 4-6 stand in for ``targetCanonType`` where the tagged files have none (all of
``training.tsv``). On the tagged questions the value rules agree with ``targetCanonType`` on
99.6% of the answers (7297 of 7325, measured by ``canon_agreement``).
"""
from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ... import data

LABELS = ("NUMERIC", "DATETIME", "YESNO", "STRING")
RULES = ("yes-no", "year", "canon-type", "date-pattern", "number-pattern", "other")
CANON = {"number": "NUMERIC", "date": "DATETIME", "string": "STRING"}

# The corpus files: the official training questions and the two "pristine" test sets. Only the
# two *.tagged files carry targetCanonType (tagged/data/training.tagged is not in the mirror).
TRAINING = "wikitablequestions/training.tsv"
UNSEEN_TSV = "wikitablequestions/pristine-unseen-tables.tsv"
UNSEEN_TAGGED = "wikitablequestions/pristine-unseen-tables.tagged"
SEEN_TAGGED = "wikitablequestions/pristine-seen-tables.tagged"
FILES = (TRAINING, UNSEEN_TSV, UNSEEN_TAGGED, SEEN_TAGGED)

_MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_DATE = re.compile(
    rf"^(?:(?:\d{{1,2}} )?{_MONTH}(?: \d{{1,2}}(?:st|nd|rd|th)?)?,?(?: \d{{4}})?"  # 27 Aug 2005, January 26, 1995, October
    r"|\d{4}-\d{2}-\d{2}"  # 2004-02-27
    r"|\d{1,2}/\d{1,2}/\d{2,4})$"  # 01/16/2014
)
_NUMBER = re.compile(
    r"^(?:#|[$£€])?[-+−–]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?<=\d)"  # a numeral that ends in a digit
    r"(?:st|nd|rd|th)?%?(?: [a-z]+\.?){0,2}$"  # ordinal suffix, percent, unit words
)
_YEAR = re.compile(r"^(\d{4})$")
_SEASON = re.compile(r"^(\d{4})[-/–](\d{2}|\d{4})$")
FIRST_YEAR, LAST_YEAR = 1000, 2029


def _value_type(value: str) -> tuple[str, str]:
    """(label, rule) of one answer value by rules 1, 2, 4, 5, 6 (no canonical type)."""
    v = value.strip()
    if v.lower() in ("yes", "no"):
        return "YESNO", "yes-no"
    m = _YEAR.match(v) or _SEASON.match(v)
    if m and FIRST_YEAR <= int(m.group(1)) <= LAST_YEAR:
        return "DATETIME", "year"
    if _DATE.match(v.lower()):
        return "DATETIME", "date-pattern"
    if _NUMBER.match(v):
        return "NUMERIC", "number-pattern"
    return "STRING", "other"


def label_answer(target_value: str, canon_type: str | None = None) -> tuple[str, str]:
    """(label, rule) for an answer ``target_value`` (values joined by ``|``), see the module's rules."""
    values = target_value.split("|")
    typed = [_value_type(v) for v in values]
    labels = {label for label, _ in typed}
    rules = {rule for _, rule in typed}
    if rules == {"yes-no"}:
        return "YESNO", "yes-no"
    if rules == {"year"}:
        return "DATETIME", "year"
    if canon_type in CANON:
        return CANON[canon_type], "canon-type"
    if len(labels) == 1:  # the values agree (years mixed with dates count as dates)
        return labels.pop(), rules.pop() if len(rules) == 1 else "date-pattern"
    return "STRING", "other"


@dataclass
class Questions:
    """Questions with their labels; ``rules[i]`` says which rule decided ``labels[i]``."""

    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, keep) -> Questions:
        """The questions at the indices ``keep`` (or where the boolean list ``keep`` is true)."""
        keep = list(keep)
        if keep and isinstance(keep[0], bool):
            keep = [i for i, k in enumerate(keep) if k]
        return Questions(*[[column[i] for i in keep] for column in self._columns()])

    def _columns(self) -> tuple[list[str], ...]:
        return self.ids, self.texts, self.answers, self.labels, self.rules, self.sources

    def __add__(self, other: Questions) -> Questions:
        return Questions(*[a + b for a, b in zip(self._columns(), other._columns())])

    def label_counts(self) -> dict[str, int]:
        counts = Counter(self.labels)
        return {label: counts[label] for label in LABELS}

    def rule_shares(self) -> dict[str, float]:
        """The fraction of the labels each rule decided (sums to 1)."""
        counts = Counter(self.rules)
        return {rule: counts[rule] / max(len(self), 1) for rule in RULES}


def read_table(path: Path) -> list[dict[str, str]]:
    """Rows of a WikiTableQuestions .tsv/.tagged file as dicts keyed by its header (tabs, no quoting)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    header, body = rows[0], rows[1:]
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}:{number} has {len(row)} fields, the header has {len(header)}")
    return [dict(zip(header, row)) for row in body]


def _labelled(rows: list[dict[str, str]], source: str) -> Questions:
    q = Questions()
    for row in rows:
        label, rule = label_answer(row["targetValue"], row.get("targetCanonType"))
        for column, value in zip(q._columns(), (row["id"], row["utterance"], row["targetValue"], label, rule, source)):
            column.append(value)
    return q


def load(split: str) -> Questions:
    """One split, labelled: ``"training"`` (training.tsv, 14152 questions, no canonical types),
    ``"unseen"`` (pristine-unseen-tables, 4344, tagged: the official test set, on tables never
    seen in training) or ``"seen"`` (pristine-seen-tables, 3537, tagged)."""
    if split == "training":
        return _labelled(read_table(data.fetch(TRAINING)), "training")
    if split == "unseen":
        tagged = read_table(data.fetch(UNSEEN_TAGGED))
        plain = read_table(data.fetch(UNSEEN_TSV))
        if [r["id"] for r in plain] != [r["id"] for r in tagged]:
            raise ValueError("pristine-unseen-tables.tsv and .tagged list different questions")
        return _labelled(tagged, "unseen")
    if split == "seen":
        return _labelled(read_table(data.fetch(SEEN_TAGGED)), "seen")
    raise ValueError(f"split must be 'training', 'unseen' or 'seen', got {split!r}")


def canon_agreement() -> float:
    """How often the value rules alone (no canonical type) give the label ``targetCanonType`` gave,
    over the tagged questions decided by the ``canon-type`` rule."""
    rows = read_table(data.fetch(SEEN_TAGGED)) + read_table(data.fetch(UNSEEN_TAGGED))
    pairs = [(label_answer(r["targetValue"])[0], label_answer(r["targetValue"], r["targetCanonType"]))
             for r in rows]
    decided = [(by_value, by_canon) for by_value, (by_canon, rule) in pairs if rule == "canon-type"]
    return sum(a == b for a, b in decided) / len(decided)
