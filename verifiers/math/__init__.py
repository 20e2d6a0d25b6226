"""The ``math`` verifiers (``math@1``, ``math@2``): final-answer extraction and equivalence for math
problems.

Small modules, each with one job:

* :mod:`.extract` - find the final answer in a model's output (boxed, phrases, ``####``, fallback);
* :mod:`.screen` - refuse inputs that would blow up a CAS (power towers, huge factorials, depth);
* :mod:`.normalize` - strip wrappers, units, currency, separators; read plain numbers exactly;
* :mod:`.compare` - CAS-free decisions (numbers, choice letters, text, hedges);
* :mod:`.equivalence` - sympy comparisons, run only in the helper process;
* :mod:`.cas_process` - the persistent, killable CAS helper process;
* :mod:`.prose` - answers stated in a sentence (``math@2``);
* :mod:`.rewrite` - string rewrites of an answer before it is read (``math@2``);
* :mod:`.config` - :class:`MathConfig`;
* :mod:`.verifier` - ``math@1``; :mod:`.verifier_v2` - ``math@2`` (the default).

>>> import verifiers
>>> math_v1 = verifiers.get("math@1")
>>> math_v1.verify("The answer is $\\\\frac{1}{2}$.", {"answer": "0.5"}).status.value
'pass'
"""

from .config import MathConfig
from .extract import Extraction, extract_answer
from .verifier import MathVerifier
from .verifier_v2 import MathVerifierV2

__all__ = ["Extraction", "MathConfig", "MathVerifier", "MathVerifierV2", "extract_answer"]
