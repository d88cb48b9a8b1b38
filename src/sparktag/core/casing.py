"""The casing (word shape) of a token: which of a few classes its letters and digits put it in.

The tagger's optional casing feature (``casingDim`` on NerDLApproach, ``NerConfig.casing_dim``) embeds each
token's class beside its word vector. When the word vectors come from an uncased encoder (lowercased input),
capitalisation otherwise reaches the network only through the char CNN.

The classes are those of Reimers & Gurevych (2017), "Reporting Score Distributions Makes a Difference:
Performance Study of LSTM-networks for Sequence Tagging" (``getCasing`` of their BiLSTM-CNN-CRF code), tested
there on CoNLL 2003 NER, checked in this order (the first that holds wins):

==================  ===================================================  ======================================
class               when                                                 examples
==================  ===================================================  ======================================
``numeric``         every character is a digit                           ``1996``, ``42``
``mainly_numeric``  more than half of the characters are digits          ``1996-08-22``, ``3.5``
``all_lower``       has cased letters, all lower case                    ``german``, ``3rd``
``all_upper``       has cased letters, all upper case                    ``EU``, ``U.S.``, ``B2B``
``initial_upper``   the first character is an upper-case letter          ``German``, ``Çağrı``, ``McDonald``
``contains_digit``  has a digit                                          ``-5``, ``+44 (0)``, ``iPhone4``
``other``           anything else                                        ``iPhone``, ``.``, ``東京``, ``""``
==================  ===================================================  ======================================

A class's id is its index in :data:`CASINGS`; id 0 (``PADDING``) marks the padding of a batch, never a token.
Letters and digits are Unicode's (Python's ``str.isdigit``, ``islower``, ``isupper``): ``Çağrı`` is ``initial_upper``,
``ΑΘΗΝΑ`` ``all_upper``, ``٢٠٢٤`` (Arabic-Indic digits) ``numeric``. The one departure from the paper is the
empty token (their code divides by its length): it is ``other``.

    >>> [CASINGS[classify_casing(w)] for w in ["EU", "German", "1996-08-22", "iPhone"]]
    ['all_upper', 'initial_upper', 'mainly_numeric', 'other']
"""

from __future__ import annotations

from collections.abc import Sequence

#: the classes by id; id 0 is padding (never a token's)
CASINGS: tuple[str, ...] = (
    "padding",
    "numeric",
    "mainly_numeric",
    "all_lower",
    "all_upper",
    "initial_upper",
    "contains_digit",
    "other",
)
PADDING = 0
_ID = {name: i for i, name in enumerate(CASINGS)}


def classify_casing(token: str) -> int:
    """The casing class id of one token (an index into :data:`CASINGS`, never ``PADDING``).

    Args:
        token: the word as it appears in the text (not lowercased).

    Returns:
        the id of the first class of the module's table that the token fits.
    """
    if not token:
        return _ID["other"]
    if token.isdigit():
        return _ID["numeric"]
    digits = 0 if token.isalpha() else sum(map(str.isdigit, token))  # most words: no count to make
    if digits / len(token) > 0.5:
        return _ID["mainly_numeric"]
    if token.islower():
        return _ID["all_lower"]
    if token.isupper():
        return _ID["all_upper"]
    if token[0].isupper():
        return _ID["initial_upper"]
    if digits:
        return _ID["contains_digit"]
    return _ID["other"]


def casing_ids(tokens: Sequence[str]) -> list[int]:
    """The casing class id of every token of a sentence, in order."""
    return [classify_casing(t) for t in tokens]
