"""Misspelled names one keystroke from a builtin, a local name or a standard-library
module are fixed without running anything, in expressions and in import lines."""

from __future__ import annotations

import pytest

from bugfixer.fixing.builtin import fix_python


@pytest.mark.parametrize(
    ("code", "error", "fixed", "says"),
    [
        pytest.param(
            "print(sun([1, 2]))\n", "", "print(sum([1, 2]))\n", "the built-in `sum`", id="builtin"
        ),
        pytest.param("x = [1]\nprint(lem(x))\n", "", "print(len(x))", "`len`", id="short_builtin"),
        pytest.param(
            "total = 3\nprint(totl + 1)\n", "", "print(total + 1)", "the name `total`", id="local"
        ),
        pytest.param(
            "def f(values):\n    return sum(valeus)\n\n\nprint(f([1]))\n",
            "",
            "return sum(values)",
            "`values`",
            id="parameter",
        ),
        pytest.param(
            "print(maths.sqrt(16))\n",
            "",
            "import math\n\nprint(math.sqrt(16))\n",
            "the module `math`",
            id="module_in_expression",
        ),
        pytest.param(
            "print(radnom.randint(1, 1))\n",
            "",
            "import random\n\nprint(random.randint(1, 1))\n",
            "the module `random`",
            id="swapped_letters_in_module",
        ),
        pytest.param(
            "import maths\n\nprint(maths.sqrt(16))\n",
            "ModuleNotFoundError: No module named 'maths'",
            "import math\n\nprint(math.sqrt(16))\n",
            "no module called `maths`",
            id="import_line",
        ),
        pytest.param(
            "import ramdon\n\nramdon.seed(1)\nprint(ramdon.choice([7]))\n",
            "ModuleNotFoundError: No module named 'ramdon'",
            "import random\n\nrandom.seed(1)\nprint(random.choice([7]))\n",
            "`random`",
            id="letters_swapped_apart_in_import",
        ),
        pytest.param(
            'from colections import Counter\n\nprint(Counter("aab")["a"])\n',
            "ModuleNotFoundError: No module named 'colections'",
            "from collections import Counter\n",
            "`collections`",
            id="from_import_module",
        ),
        pytest.param(
            "from math import factorail\n\nprint(factorail(3))\n",
            "ImportError: cannot import name 'factorail' from 'math' (/usr/lib/python3.11/x.so)",
            "from math import factorial\n\nprint(factorial(3))\n",
            "it is spelled `factorial`",
            id="from_import_name",
        ),
        pytest.param(
            "import Math\n\nprint(Math.pi)\n",
            "ModuleNotFoundError: No module named 'Math'",
            "import math\n\nprint(math.pi)\n",
            "`math`",
            id="import_case",
        ),
        pytest.param(
            "import maths as m\n\nprint(m.pi)\n",
            "ModuleNotFoundError: No module named 'maths'",
            "import math as m\n\nprint(m.pi)\n",
            "`math`",
            id="import_alias_keeps_its_uses",
        ),
    ],
)
def test_a_name_one_keystroke_off_is_corrected(code: str, error: str, fixed: str, says: str):
    result = fix_python(code, error)
    assert result.fixed_code is not None, result.explanation
    assert fixed in result.fixed_code
    assert says in result.explanation


@pytest.mark.parametrize(
    ("code", "error"),
    [
        pytest.param("import maths\n\nprint(maths.sqrt(16))\n", "", id="import_without_error"),
        pytest.param(
            "import numpi\n", "ModuleNotFoundError: No module named 'numpi'", id="not_stdlib"
        ),
        pytest.param(
            "import helpers\n", "ModuleNotFoundError: No module named 'helpers'", id="own_module"
        ),
        pytest.param("maths = 3\nprint(maths)\n", "", id="defined_variable"),
        pytest.param("print(mat(3))\n", "", id="ambiguous_map_max"),
    ],
)
def test_a_name_that_may_be_right_is_left_alone(code: str, error: str):
    assert fix_python(code, error).fixed_code is None
