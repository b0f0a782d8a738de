"""A small token-pattern language for the phrase playbook (see docs/playbook.md).

A pattern is a sequence of elements matched against the normalised tokens of one
speaker's current utterance (see :mod:`calmcall.text.normalize`; literal words in a
pattern are normalised the same way, so ``that's`` in a pattern equals ``that is``):

==================  ==========================================================
``word``            that token (``I'm`` in a pattern is the two tokens ``i am``)
``word*``           a token starting with ``word`` (``fuck*``)
``/regex/``         a token fully matching the Python regex (``/f+u+c+k\\w*/``)
``(a|b c|d)``       one of the alternatives; each may be several elements
``[a|b]``           optional group (zero or one of the alternatives)
``*``               any one token
``...``             up to 3 tokens (0-3), never across a sentence end
``^``               start of the utterance or of a sentence
``$``               end of a sentence (``.``/``!``/``?``) or of the utterance
``?``               a question mark ending the sentence
``!x`` ``!(a|b c)``  not followed by this (zero-width); true at the utterance end
``{num}``           a number token (digits; number words are normalised to digits)
``{censored}``      a word the recogniser printed with stars ("f***")
``{customer_name}`` the customer's name, once known
``{name}``          capture one token as the customer's name (name patterns only)
``{Name}``          same, but the word must be written with a capital letter
==================  ==========================================================

Punctuation inside literals is ignored (``no, you`` == ``no you``). Matching is
incremental: a pattern ending in ``$`` or ``!…`` waits for the next word, the end of
the sentence or the end of the utterance before it decides.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from ..errors import InputError
from .normalize import CENSORED, normalize_word

__all__ = ["NAME_STOPWORDS", "NAME_STOPWORDS_FR", "MatchContext", "Pattern", "PatternError", "Tok", "compile_pattern"]

GAP_MAX = 3
#: Bounds that keep compiling and matching a pattern shallow and short (the matcher
#: recurses once per element and per group level); real rules use a few of each.
MAX_GROUP_DEPTH = 8
MAX_PATTERN_ELEMENTS = 64
MAX_PATTERN_CHARS = 500
#: Longest ``/regex/`` body.
MAX_REGEX_CHARS = 200


class PatternError(InputError):
    """A pattern does not parse; the message says what and where."""


def compile_token_regex(val: str) -> Any:
    """Compile the ``/regex/`` element ``val`` with RE2, a linear-time engine: a
    user's rule such as ``/(\\w+)+\\d/`` then costs microseconds per token instead
    of the seconds Python's backtracking ``re`` spends (catastrophic backtracking).
    RE2 has no backreferences or lookarounds, and its ``\\w`` is ASCII (tokens are
    accent-folded; use ``\\pL`` for other scripts). Raises :class:`PatternError`."""
    body = val[1:-1]
    if len(body) > MAX_REGEX_CHARS:
        raise PatternError(f"regex {val[:20]}... is longer than {MAX_REGEX_CHARS} characters")
    try:
        import re2
    except ImportError:  # pragma: no cover - a declared dependency
        raise PatternError(f"regex {val}: needs the google-re2 package (pip install google-re2)") from None
    opts = re2.Options()
    opts.log_errors = False  # RE2 would print its own line on stderr
    opts.max_mem = 8 << 20
    try:
        re.compile(body)  # Python's message for plain syntax errors
    except re.error as exc:
        raise PatternError(f"bad regex {val}: {exc}") from None
    except RecursionError:
        raise PatternError(f"bad regex {val}: nested too deeply") from None
    try:
        return re2.compile(body, opts)
    except re2.error as exc:
        why = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise PatternError(
            f"regex {val} uses a feature the linear-time matcher lacks ({why}); backreferences and lookarounds are not supported"
        ) from None


@dataclass(frozen=True, slots=True)
class Tok:
    """One token of an utterance buffer. ``boundary`` is ``"."``/``"?"`` for a
    sentence-end marker (then ``text`` is empty)."""

    text: str
    word: int  # index of the source word in the utterance
    cap: bool = False
    boundary: str | None = None


@dataclass
class MatchContext:
    """What a match may consult besides the tokens."""

    closed: bool = False  # the utterance is over: lookaheads at the end succeed
    names: frozenset[str] = frozenset()  # normalised customer-name tokens
    name_stopwords: frozenset[str] = frozenset()
    pending: bool = False  # set when a branch needed a token not heard yet


# ---------------------------------------------------------------- elements


class _El:
    def match(self, toks: Sequence[Tok], pos: int, ctx: MatchContext, caps: dict) -> Iterator[tuple[int, dict]]:
        raise NotImplementedError

    def max_len(self) -> int:
        return 1


def _need_more(toks: Sequence[Tok], pos: int, ctx: MatchContext) -> bool:
    if pos >= len(toks):
        if not ctx.closed:
            ctx.pending = True
        return True
    return False


def _text_test(pred: Callable[[str], bool]) -> Callable[[Tok, MatchContext], bool]:
    """A token test that looks only at the token's text."""
    return lambda tok, ctx: bool(pred(tok.text))


@dataclass
class _Tok1(_El):
    """A single-token test."""

    test: Callable[[Tok, MatchContext], bool]
    desc: str

    def match(self, toks, pos, ctx, caps):
        if _need_more(toks, pos, ctx):
            return
        t = toks[pos]
        if t.boundary is None and self.test(t, ctx):
            yield pos + 1, caps


@dataclass
class _Capture(_El):
    need_cap: bool

    def match(self, toks, pos, ctx, caps):
        if _need_more(toks, pos, ctx):
            return
        t = toks[pos]
        if (
            t.boundary is None
            and t.text.isalpha()
            and len(t.text) >= 2
            and t.text not in ctx.name_stopwords
            and (t.cap or not self.need_cap)
        ):
            yield pos + 1, {**caps, "name": t.text}


@dataclass
class _Start(_El):
    def match(self, toks, pos, ctx, caps):
        if pos == 0 or (pos <= len(toks) and toks[pos - 1].boundary is not None):
            yield pos, caps

    def max_len(self):
        return 0


@dataclass
class _End(_El):
    question_only: bool = False

    def match(self, toks, pos, ctx, caps):
        if pos >= len(toks):
            if ctx.closed and not self.question_only:
                yield pos, caps
            elif not ctx.closed:
                ctx.pending = True
            return
        b = toks[pos].boundary
        if b is not None and (b == "?" or not self.question_only):
            yield pos + 1, caps


@dataclass
class _Seq(_El):
    items: list[_El]

    def match(self, toks, pos, ctx, caps):
        yield from self._from(0, toks, pos, ctx, caps)

    def _from(self, i, toks, pos, ctx, caps):
        if i == len(self.items):
            yield pos, caps
            return
        for p, c in self.items[i].match(toks, pos, ctx, caps):
            yield from self._from(i + 1, toks, p, ctx, c)

    def max_len(self):
        return sum(e.max_len() for e in self.items)


@dataclass
class _Alt(_El):
    alts: list[_Seq]
    optional: bool = False

    def match(self, toks, pos, ctx, caps):
        for a in self.alts:
            yield from a.match(toks, pos, ctx, caps)
        if self.optional:
            yield pos, caps

    def max_len(self):
        return max(a.max_len() for a in self.alts)


@dataclass
class _Gap(_El):
    def match(self, toks, pos, ctx, caps):
        yield pos, caps
        p = pos
        for _ in range(GAP_MAX):
            if _need_more(toks, p, ctx) or toks[p].boundary is not None:
                return
            p += 1
            yield p, caps

    def max_len(self):
        return GAP_MAX


@dataclass
class _Not(_El):
    inner: _El

    def match(self, toks, pos, ctx, caps):
        sub = MatchContext(closed=ctx.closed, names=ctx.names, name_stopwords=ctx.name_stopwords)
        for _ in self.inner.match(toks, pos, sub, caps):
            return  # the forbidden continuation is there
        if sub.pending:
            ctx.pending = True  # cannot tell yet
            return
        yield pos, caps

    def max_len(self):
        return self.inner.max_len()  # how far it may look ahead


# ---------------------------------------------------------------- parser

_LEX_RE = re.compile(
    r"\s*(?:(?P<regex>/(?:\\.|[^/\\])+/)|(?P<cls>\{[^}]*\})|(?P<gap>\.\.\.)|(?P<punct>[()\[\]|!])|(?P<word>[^\s()\[\]|{}]+))"
)


def _lex(src: str) -> list[tuple[str, str]]:
    out = []
    pos = 0
    src = src.rstrip()
    while pos < len(src):
        m = _LEX_RE.match(src, pos)
        if not m or m.end() == pos:
            raise PatternError(f"unexpected {src[pos:].strip()[:10]!r}")
        kind = cast(str, m.lastgroup)  # the lexer's alternatives are all named
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


_CLASSES = {"num", "censored", "customer_name", "name", "Name"}


def _fuzzy_name(tok: str, names: frozenset[str]) -> bool:
    if tok in names:
        return True
    if len(tok) < 4:
        return False
    for n in names:
        if len(n) >= 4 and abs(len(n) - len(tok)) <= 1 and _lev1(tok, n):
            return True
    return False


def _lev1(a: str, b: str) -> bool:
    """Edit distance <= 1."""
    if a == b:
        return True
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1:
        return False
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1 :] == b[i + 1 :]
    return a[i:] == b[i + 1 :]


class _Parser:
    def __init__(
        self, src: str, allow_capture: bool, normalizer: Callable[[str], tuple[list[str], bool, str | None]] = normalize_word
    ):
        self.src = src
        self.normalize = normalizer
        self.toks = _lex(src)
        self.i = 0
        self.allow_capture = allow_capture
        self.uses_name = False
        self.captures = False
        self.depth = 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self):
        t = self.peek()
        self.i += 1
        return t

    def parse(self) -> _Seq:
        seq = self.seq()
        if self.i < len(self.toks):
            raise PatternError(f"unexpected {self.toks[self.i][1]!r}")
        if not seq.items or all(isinstance(e, (_Start, _End, _Not)) for e in seq.items):
            raise PatternError("pattern matches no word")
        return seq

    def seq(self) -> _Seq:
        items: list[_El] = []
        while True:
            kind, val = self.peek()
            if kind is None or (kind == "punct" and val in ")]|"):
                return _Seq(items)
            items.extend(self.item())

    def group(self, close: str) -> _Alt:
        self.depth += 1
        if self.depth > MAX_GROUP_DEPTH:
            raise PatternError(f"groups nested more than {MAX_GROUP_DEPTH} deep")
        alts = [self.seq()]
        while self.peek() == ("punct", "|"):
            self.take()
            alts.append(self.seq())
        _kind, val = self.take()
        if val != close:
            raise PatternError(f"missing {close!r}")
        if any(not a.items for a in alts):
            raise PatternError("empty alternative in group")
        self.depth -= 1
        return _Alt(alts, optional=(close == "]"))

    def item(self) -> list[_El]:
        kind, val = self.take()
        if kind == "punct":
            if val == "(":
                return [self.group(")")]
            if val == "[":
                return [self.group("]")]
            if val == "!":
                nk, nv = self.peek()
                if nk is None or (nk == "punct" and nv in ")]|!"):
                    raise PatternError("'!' must be followed by a word or a group")
                inner = self.item()
                return [_Not(_Seq(inner))]
            raise PatternError(f"unbalanced {val!r}")
        if kind == "gap":
            return [_Gap()]
        if kind == "regex":
            rx = compile_token_regex(val)
            return [_Tok1(_text_test(lambda text: rx.fullmatch(text) is not None), val)]
        if kind == "cls":
            name = val[1:-1].strip()
            if name not in _CLASSES:
                raise PatternError(f"unknown class {val} (known: {', '.join(sorted(_CLASSES))})")
            if name == "num":
                return [_Tok1(lambda t, c: t.text.isdigit(), val)]
            if name == "censored":
                return [_Tok1(lambda t, c: t.text == CENSORED, val)]
            if name == "customer_name":
                self.uses_name = True
                return [_Tok1(lambda t, c: bool(c.names) and _fuzzy_name(t.text, c.names), val)]
            if not self.allow_capture:
                raise PatternError(f"{val} is only allowed in the [name] patterns")
            self.captures = True
            return [_Capture(need_cap=(name == "Name"))]
        # plain word
        if val == "^":
            return [_Start()]
        if val == "$":
            return [_End()]
        if val == "?":
            return [_End(question_only=True)]
        if val == "*":
            return [_Tok1(lambda t, c: True, "*")]
        if val.endswith("*") and len(val) > 1 and not val.endswith("**"):
            stem_toks = self.normalize(val[:-1])[0]
            if len(stem_toks) != 1:
                raise PatternError(f"prefix {val!r} must be one word")
            stem = stem_toks[0]
            return [_Tok1(_text_test(lambda text: text.startswith(stem)), val)]
        if "*" in val:
            raise PatternError(f"'*' only at the end of a word (prefix), not in {val!r}")
        return [_Tok1(_text_test(functools.partial(operator.eq, w)), w) for w in self.normalize(val)[0]]


@dataclass
class Pattern:
    """A compiled pattern. ``uses_name``: refers to ``{customer_name}``;
    ``captures``: contains ``{name}``/``{Name}``; ``span``: most tokens it can
    look at (for the incremental matcher)."""

    source: str
    seq: _Seq = field(repr=False)
    uses_name: bool
    captures: bool
    span: int

    def match_at(self, toks: Sequence[Tok], start: int, ctx: MatchContext) -> tuple[int, dict] | None:
        """First match starting at ``start``: ``(end, captures)`` or ``None``
        (``ctx.pending`` tells whether it may still match when more words come)."""
        for end, caps in self.seq.match(toks, start, ctx, {}):
            return end, caps
        return None


def compile_pattern(
    src: str, *, allow_capture: bool = False, normalizer: Callable[[str], tuple[list[str], bool, str | None]] | None = None
) -> Pattern:
    """Compile ``src``; raises :class:`PatternError`. ``normalizer`` turns a literal
    word into tokens (default :func:`calmcall.text.normalize.normalize_word`, English;
    the French playbook passes :func:`calmcall.text.normalize_fr.normalize_word_fr`)."""
    if not isinstance(src, str) or not src.strip():
        raise PatternError("empty pattern")
    if len(src) > MAX_PATTERN_CHARS:
        raise PatternError(f"longer than {MAX_PATTERN_CHARS} characters (split it into several patterns)")
    p = _Parser(src, allow_capture, normalizer or normalize_word)
    if len(p.toks) > MAX_PATTERN_ELEMENTS:
        raise PatternError(f"more than {MAX_PATTERN_ELEMENTS} elements (split it into several patterns)")
    seq = p.parse()
    return Pattern(src, seq, p.uses_name, p.captures, seq.max_len() + 1)


#: Words never taken for a name after "my name is" / "this is" (built-in default;
#: the playbook's [name] table may extend it).
NAME_STOPWORDS = frozenset(
    """a an the is am are was not no yes so very really just still here there calling
    speaking about from with on in at to for of and but or going trying ringing phoning
    sorry okay fine well good sure angry upset ridiculous unacceptable crazy insane
    terrible awful absurd outrageous wrong right correct true false mr mrs ms miss dr
    i you he she we they it this that what who hello hi hey customer account number
    because again also only never always totally completely absolutely""".split()
)

#: French name stopwords (tokens after :func:`calmcall.text.normalize_fr.normalize_word_fr`):
#: never taken for a name after "je m'appelle" / "c'est".
NAME_STOPWORDS_FR = frozenset(
    """le la les un une des de du au aux ce est suis es sont etait je me moi vous tu il elle
    nous on ils elles que qui quoi pas plus tres bien bon bonjour bonsoir allo oui non si
    merci desole desolee madame monsieur mademoiselle client cliente compte numero encore
    vraiment juste ici la pour avec sans dans sur et ou mais donc car parce appelle appelais
    fache fachee enerve enervee furieux furieuse inadmissible inacceptable scandaleux
    toujours jamais rien tout totalement completement absolument""".split()
)
