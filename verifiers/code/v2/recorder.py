"""Per-case bookkeeping of a test run in the test process (``code@2``; sent into the sandbox).

The grader rewrote every assert of the test program into a call of :meth:`Recorder.check`,
:meth:`Recorder.compare`, :meth:`Recorder.value` or :meth:`Recorder.tripwire` with the case's
number, so a failing assert records its failure and the program goes on. The rules:

* a case passes when it ran at least once and every run passed; a ``tripwire`` (``assert
  False``) passes when it never ran;
* an assert whose expression raised an exception the test caught itself counts neither way;
* an exception escaping a top-level statement fails the statement's cases that have not run yet
  (the cases inside it and inside the test functions it calls; all cases not yet run when it
  owns none), with the exception as the reason;
* a call into the candidate that timed out, crashed or flooded its output (:class:`CallAbort`)
  fails the assert being evaluated at once; outside an assert it fails the next assert to
  complete in the same statement, or, if the test swallowed it and none completes, the
  statement's cases.
"""

import operator

try:
    from .client import CallAbort
    from .remote import safe_repr
except ImportError:  # in the sandbox this file follows client.py and remote.py
    pass

COMPARISONS = {
    "Eq": operator.eq,
    "NotEq": operator.ne,
    "Lt": operator.lt,
    "LtE": operator.le,
    "Gt": operator.gt,
    "GtE": operator.ge,
    "Is": operator.is_,
    "IsNot": operator.is_not,
    "In": lambda a, b: a in b,
    "NotIn": lambda a, b: a not in b,
}
NOT_REACHED = "never ran"


class Recorder(object):
    """Outcomes of every case over one run of the test program."""

    def __init__(self, n_cases, owned, tripwires):
        self.n = n_cases
        self.owned = owned
        self.tripwires = set(tripwires)
        self.failure = [None] * n_cases
        self.ran = [False] * n_cases
        self.active = []
        self.raised = []
        self.pending = None
        self.in_statement = set()
        self.neutral = set()

    # ------------------------------------------------------------ called by the rewritten asserts
    def check(self, case, thunk):
        self._record(case, self._evaluate(case, lambda: self._truth(thunk())))

    def compare(self, case, op_name, thunk):
        def evaluate():
            left, right = thunk()
            if self._truth(COMPARISONS[op_name](left, right)) is True:
                return True
            return False, "left side %s, right side %s" % (safe_repr(left), safe_repr(right))

        self._record(case, self._evaluate(case, evaluate))

    def value(self, case, value):
        self._record(case, self._evaluate(case, lambda: self._truth(value)))

    def tripwire(self, case):
        self._record(case, (False, "this assert was reached"))

    def _truth(self, value):
        return True if value else (False, "value %s" % safe_repr(value))

    def _evaluate(self, case, evaluate):
        self.active.append(case)
        try:
            return evaluate()
        except CallAbort:
            raise  # already charged to the active case by on_abort
        except BaseException as exc:
            self.raised.append((exc, case))
            raise
        finally:
            self.active.pop()

    def _record(self, case, outcome):
        self.ran[case] = True
        self.in_statement.add(case)
        if self.pending is not None:
            abort, self.pending = self.pending, None
            self.fail(case, abort.code, abort.message)
        elif outcome is not True:
            self.fail(case, "wrong_answer", outcome[1])

    # ---------------------------------------------------------- called by the runner and the client
    def on_abort(self, abort):
        if self.active:
            self.fail(self.active[-1], abort.code, abort.message)
        else:
            self.pending = abort

    def fail(self, case, code, message):
        if self.failure[case] is None:
            self.failure[case] = (code, message)

    def statement_done(self, index, escaped, reason_of):
        """After top-level statement ``index``; ``escaped`` is the exception that left it (or None).

        ``reason_of(exc, in_assert)`` gives the ``(code, message)`` an escaped exception fails cases
        with.
        """
        if escaped is not None:
            self._escaped(index, escaped, reason_of)
        self.neutral.update(case for exc, case in self.raised if exc is not escaped)
        self.raised = []
        if self.pending is not None:
            abort, self.pending = self.pending, None
            for case in sorted(self.in_statement) or self.owned[index] or range(self.n):
                self.fail(case, abort.code, abort.message)
        self.in_statement = set()

    def _escaped(self, index, escaped, reason_of):
        hit = [case for exc, case in self.raised if exc is escaped]
        code, message = reason_of(escaped, bool(hit))
        for case in hit:
            self.fail(case, code, message)
        if escaped is self.pending:
            self.pending = None
        remaining = [c for c in self.owned[index] if c not in self.in_statement and c not in hit]
        if not self.owned[index]:
            remaining = [
                c
                for c in range(self.n)
                if not self.ran[c] and self.failure[c] is None and c not in hit
            ]
        for case in remaining:
            self.fail(case, code, "not reached: " + message)

    def results(self, final=True):
        """Per case ``[code, detail]`` (``pass`` or a failure code); before the end, None for a case
        not run yet."""
        out = []
        for case in range(self.n):
            if self.failure[case] is not None:
                out.append(list(self.failure[case]))
            elif self.ran[case] or case in self.neutral or (final and case in self.tripwires):
                out.append(["pass", ""])
            else:
                out.append(["wrong_answer", NOT_REACHED] if final else None)
        return out
