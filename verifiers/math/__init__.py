"""The ``math@1`` verifier: final-answer extraction and equivalence for math problems.

Small modules, each with one job:

* :mod:`.extract` - find the final answer in a model's output (boxed, phrases, ``####``, fallback);
* :mod:`.screen` - refuse inputs that would blow up a CAS (power towers, huge factorials, depth);
* :mod:`.normalize` - strip wrappers, units, currency, separators; read plain numbers exactly;
* :mod:`.compare` - CAS-free decisions (numbers, choice letters, text, hedges);
* :mod:`.equivalence` - sympy comparisons, run only in the helper process;
* :mod:`.helper` - the persistent, killable CAS helper process;
* :mod:`.config` - :class:`MathConfig`.

>>> import verifiers
>>> verifiers.get("math@1").verify("The answer is $\\\\frac{1}{2}$.", {"answer": "0.5"}).status.value
'pass'
"""

from .config import MathConfig
from .extract import Extraction, extract_answer
from .verifier import MathVerifier

__all__ = ["Extraction", "MathConfig", "MathVerifier", "extract_answer"]
