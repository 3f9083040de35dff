"""The whole policy of `kb check` in one frozen object: every threshold and weight, each with its reason.

Similarities are rapidfuzz scores (0–100) after the bonuses of `matching.similarity`. Weights rank
candidates whose figures agree above those whose wording merely resembles the sentence.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    # -- matching
    min_sim: float = 25  # a candidate below this similarity is dropped before figures are compared
    cited_bonus: float = 20  # similarity a claim gains when the sentence cites its source
    listed_bonus: float = 3  # ...and, as a tie-break only, when the draft lists its source
    # -- verdicts
    t_text: float = 62  # similarity for a text-only match (a sentence without comparable figures)
    t_figure: float = 50  # similarity for a match whose figures agree
    t_contra: float = 55  # similarity for "the same thing" when figures disagree
    t_figure_strong: float = 30  # similarity enough when the claim's own value agrees
    min_figure_words: int = 1  # content words (bonus aside) a figure match shares at least
    min_shared_figure: int = 3  # content words a figure match shares, unless the source is cited
    wrong_analysis_margin: float = 10  # a conflicting claim this much closer in wording outranks
    min_shared_text: int = 4  # content words a text-only match must share with the claim...
    min_coverage: float = 0.5  # ...or, in a short sentence, at least 3 and this share of its words
    min_text_coverage: float = 0.5  # support on wording alone: this share of the sentence's words
    # a reversed finding without a figure: the claim is the best worded (within this tie)...
    reversal_tie: float = 2
    # ...or, a claim of the study the sentence names, on its outcome, shares this many words
    min_shared_reversal_named: int = 1
    unverified_fit_margin: float = 5  # an unverified claim this close, and more specific, explains
    min_finding_words: int = 2  # a finding beside a study's size shares this many words with it
    same_time_bonus: float = 10  # ranking bonus for a rival claim at the sentence's time point
    # -- figure weights in ranking: the claim's own value counts most
    w_value: float = 15.0
    w_value_duration: float = 6.0  # a duration that is the claim's value (weaker evidence)
    w_p: float = 10.0
    w_ci: float = 10.0
    w_n: float = 8.0
    w_time: float = 6.0
    w_missed: float = -10.0  # per checkable figure the claim leaves unchecked: a poor match
    # -- bounds on one statement (the check's deadline bounds the whole draft)
    max_statement_chars: int = 2000  # a longer "sentence" is reported unchecked, not matched
    max_statement_figures: int = 40  # so is one with more figures than this

    def weight(self, role: str, duration: bool) -> float:
        if role == "value":
            return self.w_value_duration if duration else self.w_value
        return {"ci": self.w_ci, "p": self.w_p, "n": self.w_n, "time": self.w_time}[role]


POLICY = Policy()
