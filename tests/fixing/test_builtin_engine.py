"""The offline engine fixes the common Python mistakes people paste, and only those.

Each case is a broken snippet with the error CPython 3.11 really prints for it; the fix
must compile, leave no undefined names, contain the expected change, explain it, and
(where the snippet is safe to run) print what the working program prints.
"""

from __future__ import annotations

import ast
import asyncio
import subprocess
import sys
import textwrap
from typing import NamedTuple

import pytest
from pyflakes import checker, messages

from bugfixer.fixing.builtin import BuiltinFix, fix_python
from bugfixer.fixing.providers.base import FixPrompt
from bugfixer.fixing.providers.builtin import BuiltinProvider


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


class Want(NamedTuple):
    fixed: str  # a substring of the fixed program
    says: str  # a substring of the explanation (case-insensitive)
    prints: str | None  # the fixed program's stdout, or None when it is not safe to run


def undefined(code: str) -> set[str]:
    found = checker.Checker(ast.parse(code), filename="<fixed>").messages
    return {m.message_args[0] for m in found if isinstance(m, messages.UndefinedName)}


def run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=10, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def assert_usable(result: BuiltinFix) -> str:
    assert result.fixed_code is not None, result.explanation
    compile(result.fixed_code, "<fixed>", "exec")
    assert undefined(result.fixed_code) == set()
    assert result.rules
    return result.fixed_code


CASES = [
    # 1. A missing colon after a block header.
    pytest.param(
        dedent("""
            x = 7
            if x > 5
                print("big")
        """),
        dedent("""
              File "/home/ann/project/main.py", line 2
                if x > 5
                        ^
            SyntaxError: expected ':'
        """),
        Want("if x > 5:", "colon", "big\n"),
        id="missing_colon_after_if",
    ),
    pytest.param(
        dedent("""
            def total(nums)
                s = 0
                for n in nums
                    s += n
                return s


            print(total([1, 2, 3]))
        """),
        dedent("""
              File "/home/ann/project/main.py", line 1
                def total(nums)
                               ^
            SyntaxError: expected ':'
        """),
        Want("for n in nums:", "colon", "6\n"),
        id="missing_colons_in_def_and_for",
    ),
    pytest.param(
        dedent("""
            x = 2
            if x > 3:
                print("big")
            else
                print("small")
        """),
        dedent("""
              File "/home/ann/project/main.py", line 4
                else
                    ^
            SyntaxError: expected ':'
        """),
        Want("else:", "`else`", "small\n"),
        id="missing_colon_after_else",
    ),
    pytest.param(
        dedent("""
            class Greeter
                def hello(self)
                    return "hi"


            print(Greeter().hello())
        """),
        dedent("""
              File "/home/ann/project/main.py", line 1
                class Greeter
                             ^
            SyntaxError: expected ':'
        """),
        Want("class Greeter:", "`class`", "hi\n"),
        id="missing_colons_in_class_and_method",
    ),
    pytest.param(
        dedent("""
            try
                int("x")
            except ValueError as exc
                print("bad number")
            finally
                print("done")
        """),
        dedent("""
              File "/home/ann/project/main.py", line 1
                try
                   ^
            SyntaxError: expected ':'
        """),
        Want("except ValueError as exc:", "`except`", "bad number\ndone\n"),
        id="missing_colons_in_try_except_finally",
    ),
    pytest.param(
        dedent("""
            n = 3
            while n > 0
                print(n)
                n -= 1
        """),
        dedent("""
              File "/home/ann/project/main.py", line 2
                while n > 0
                           ^
            SyntaxError: expected ':'
        """),
        Want("while n > 0:", "`while`", "3\n2\n1\n"),
        id="missing_colon_after_while",
    ),
    pytest.param(
        dedent("""
            import contextlib

            with contextlib.suppress(ValueError)
                int("x")
            print("ok")
        """),
        dedent("""
              File "/home/ann/project/main.py", line 3
                with contextlib.suppress(ValueError)
                                                    ^
            SyntaxError: expected ':'
        """),
        Want("with contextlib.suppress(ValueError):", "`with`", "ok\n"),
        id="missing_colon_after_with",
    ),
    pytest.param(
        dedent("""
            for i in range(2)  # count
                print(i)
        """),
        dedent("""
              File "/home/ann/project/main.py", line 1
                for i in range(2)  # count
                                   ^^^^^^^
            SyntaxError: expected ':'
        """),
        Want("for i in range(2):  # count", "colon", "0\n1\n"),
        id="missing_colon_before_comment",
    ),
    # 2. Unclosed brackets and quotes.
    pytest.param(
        dedent("""
            print("hello"
            print("world")
        """),
        dedent("""
              File "/home/ann/project/main.py", line 1
                print("hello"
                     ^
            SyntaxError: '(' was never closed
        """),
        Want('print("hello")\n', "never closed", "hello\nworld\n"),
        id="unclosed_paren_in_print",
    ),
    pytest.param(
        dedent("""
            nums = [1, 2,
                    3, 4
            print(sum(nums))
        """),
        dedent("""
              File "/home/ann/project/main.py", line 1
                nums = [1, 2,
                       ^
            SyntaxError: '[' was never closed
        """),
        Want("3, 4]", "`[`", "10\n"),
        id="unclosed_list_over_two_lines",
    ),
    pytest.param(
        dedent("""
            ages = {"ann": 31, "bob": 42
            print(ages["bob"])
        """),
        dedent("""
              File "/home/ann/project/main.py", line 1
                ages = {"ann": 31, "bob": 42
                       ^
            SyntaxError: '{' was never closed
        """),
        Want('"bob": 42}', "`{`", "42\n"),
        id="unclosed_dict",
    ),
    pytest.param(
        dedent("""
            print(len([1, 2, 3)]
        """),
        dedent("""
              File "/home/ann/project/main.py", line 1
                print(len([1, 2, 3)]
                                  ^
            SyntaxError: closing parenthesis ')' does not match opening parenthesis '['
        """),
        Want("print(len([1, 2, 3]))", "`]`", "3\n"),
        id="swapped_closing_brackets",
    ),
    pytest.param(
        dedent("""
            print(max(3, 7)))
        """),
        dedent("""
              File "/home/ann/project/main.py", line 1
                print(max(3, 7)))
                                ^
            SyntaxError: unmatched ')'
        """),
        Want("print(max(3, 7))\n", "too many", "7\n"),
        id="extra_closing_paren",
    ),
    pytest.param(
        dedent("""
            print("hello world)
        """),
        dedent("""
              File "/home/ann/project/main.py", line 1
                print("hello world)
                      ^
            SyntaxError: unterminated string literal (detected at line 1)
        """),
        Want('print("hello world")', "never closed", "hello world\n"),
        id="unclosed_double_quote",
    ),
    pytest.param(
        dedent("""
            name = "bob"
            if name == "bob:
                print("hi bob")
        """),
        dedent("""
              File "/home/ann/project/main.py", line 2
                if name == "bob:
                           ^
            SyntaxError: unterminated string literal (detected at line 2)
        """),
        Want('if name == "bob":', "string", "hi bob\n"),
        id="unclosed_quote_in_condition",
    ),
    pytest.param(
        dedent("""
            greeting = 'hi
            print(greeting)
        """),
        dedent("""
              File "/home/ann/project/main.py", line 1
                greeting = 'hi
                           ^
            SyntaxError: unterminated string literal (detected at line 1)
        """),
        Want("greeting = 'hi'", "string", "hi\n"),
        id="unclosed_single_quote",
    ),
    # 3. Indentation.
    pytest.param(
        "def f():\n\tx = 1\n        return x\n\n\nprint(f())\n",
        dedent("""
              File "/home/ann/project/main.py", line 3
                return x
            TabError: inconsistent use of tabs and spaces in indentation
        """),
        Want("        x = 1", "tab", "1\n"),
        id="tabs_mixed_with_spaces",
    ),
    pytest.param(
        dedent("""
            x = 1
                y = 2
            print(x + y)
        """),
        dedent("""
              File "/home/ann/project/main.py", line 2
                y = 2
            IndentationError: unexpected indent
        """),
        Want("\ny = 2\n", "indented more", "3\n"),
        id="unexpected_indent",
    ),
    pytest.param(
        dedent("""
            def square(n):
            return n * n


            print(square(4))
        """),
        dedent("""
              File "/home/ann/project/main.py", line 2
                return n * n
                ^
            IndentationError: expected an indented block after function definition on line 1
        """),
        Want("    return n * n", "indented", "16\n"),
        id="function_body_not_indented",
    ),
    pytest.param(
        dedent("""
            for i in range(3):
            print(i)
        """),
        dedent("""
              File "/home/ann/project/main.py", line 2
                print(i)
                ^
            IndentationError: expected an indented block after 'for' statement on line 1
        """),
        Want("    print(i)", "indented", "0\n1\n2\n"),
        id="loop_body_not_indented",
    ),
    pytest.param(
        dedent("""
            def todo():


            print("done")
        """),
        dedent("""
              File "/home/ann/project/main.py", line 4
                print("done")
                ^
            IndentationError: expected an indented block after function definition on line 1
        """),
        Want("    pass", "`pass`", "done\n"),
        id="empty_function_gets_pass",
    ),
    pytest.param(
        dedent("""
            def double_all(values):
                out = []
                for v in values:
                    out.append(v * 2)
                  return out


            print(double_all([1, 2]))
        """),
        dedent("""
              File "/home/ann/project/main.py", line 5
                return out
                          ^
            IndentationError: unindent does not match any outer indentation level
        """),
        Want("v * 2)\n    return out\n", "columns", "[2, 4]\n"),
        id="unindent_leaves_the_loop",
    ),
    pytest.param(
        dedent("""
            def f():
                x = 1
              return x


            print(f())
        """),
        dedent("""
              File "/home/ann/project/main.py", line 3
                return x
                        ^
            IndentationError: unindent does not match any outer indentation level
        """),
        Want("    return x", "columns", "1\n"),
        id="unindent_does_not_match",
    ),
    pytest.param(
        dedent("""
            def double(n):
                result = n * 2
            return result


            print(double(4))
        """),
        dedent("""
              File "/home/ann/project/main.py", line 3
                return result
                ^^^^^^^^^^^^^
            SyntaxError: 'return' outside function
        """),
        Want("    return result", "`return`", "8\n"),
        id="return_outside_function",
    ),
    # 4. Python 2 print statements.
    pytest.param(
        dedent("""
            print "Hello, world"
        """),
        dedent("""
              File "/home/ann/project/main.py", line 1
                print "Hello, world"
                ^^^^^^^^^^^^^^^^^^^^
            SyntaxError: Missing parentheses in call to 'print'. Did you mean print(...)?
        """),
        Want('print("Hello, world")', "Python 2", "Hello, world\n"),
        id="python2_print_string",
    ),
    pytest.param(
        dedent("""
            name = "Ann"
            print "Hi", name
            print
            print "Bye"
        """),
        dedent("""
              File "/home/ann/project/main.py", line 2
                print "Hi", name
                ^^^^^^^^^^^^^^^^
            SyntaxError: Missing parentheses in call to 'print'. Did you mean print(...)?
        """),
        Want('print("Hi", name)\nprint()\nprint("Bye")', "Python 2", "Hi Ann\n\nBye\n"),
        id="python2_prints_with_args_and_bare_print",
    ),
    pytest.param(
        dedent("""
            import sys

            print >>sys.stderr, "warning"
            print "done"
        """),
        dedent("""
              File "/home/ann/project/main.py", line 4
                print "done"
                ^^^^^^^^^^^^
            SyntaxError: Missing parentheses in call to 'print'. Did you mean print(...)?
        """),
        Want('print("warning", file=sys.stderr)', "file=sys.stderr", "done\n"),
        id="python2_print_chevron_to_stderr",
    ),
    pytest.param(
        dedent("""
            def show(n):
                print "n = %d" % n


            show(5)
        """),
        dedent("""
              File "/home/ann/project/main.py", line 2
                print "n = %d" % n
                ^^^^^^^^^^^^^^^^^^
            SyntaxError: Missing parentheses in call to 'print'. Did you mean print(...)?
        """),
        Want('print("n = %d" % n)', "Python 2", "n = 5\n"),
        id="python2_print_percent_format_in_function",
    ),
    pytest.param(
        dedent("""
            for i in range(3):
                print i,
            print
        """),
        dedent("""
              File "/home/ann/project/main.py", line 2
                print i,
                ^^^^^^^^
            SyntaxError: Missing parentheses in call to 'print'. Did you mean print(...)?
        """),
        Want('print(i, end=" ")', "Python 2", "0 1 2 \n"),
        id="python2_print_trailing_comma",
    ),
    # 5. Misspelled names and attributes.
    pytest.param(
        dedent("""
            length = 3
            print(lenght)
        """),
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 2, in <module>
                print(lenght)
                      ^^^^^^
            NameError: name 'lenght' is not defined. Did you mean: 'length'?
        """),
        Want("print(length)", "`length`", "3\n"),
        id="misspelled_variable_from_name_error",
    ),
    pytest.param(
        dedent("""
            pirnt("hi")
        """),
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 1, in <module>
                pirnt("hi")
                ^^^^^
            NameError: name 'pirnt' is not defined. Did you mean: 'print'?
        """),
        Want('print("hi")', "`print`", "hi\n"),
        id="misspelled_builtin",
    ),
    pytest.param(
        dedent("""
            def average(values):
                total = sum(values)
                return totl / len(values)


            print(average([2, 4]))
        """),
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 6, in <module>
                print(average([2, 4]))
                      ^^^^^^^^^^^^^^^
              File "/home/ann/project/main.py", line 3, in average
                return totl / len(values)
                       ^^^^
            NameError: name 'totl' is not defined. Did you mean: 'total'?
        """),
        Want("return total / len(values)", "`totl`", "3.0\n"),
        id="misspelled_local_in_function",
    ),
    pytest.param(
        dedent("""
            items = []
            items.apend(1)
            print(items)
        """),
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 2, in <module>
                items.apend(1)
                ^^^^^^^^^^^
            AttributeError: 'list' object has no attribute 'apend'. Did you mean: 'append'?
        """),
        Want("items.append(1)", "`append`", "[1]\n"),
        id="misspelled_list_method",
    ),
    pytest.param(
        dedent("""
            def shout(s):
                return s.uper()


            print(shout("hi"))
        """),
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 5, in <module>
                print(shout("hi"))
                      ^^^^^^^^^^^
              File "/home/ann/project/main.py", line 2, in shout
                return s.uper()
                       ^^^^^^
            AttributeError: 'str' object has no attribute 'uper'. Did you mean: 'upper'?
        """),
        Want("s.upper()", "`upper`", "HI\n"),
        id="misspelled_str_method_named_by_error",
    ),
    pytest.param(
        dedent("""
            d = {"a": 1}
            for k, v in d.itmes():
                print(k, v)
        """),
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 2, in <module>
                for k, v in d.itmes():
                            ^^^^^^^
            AttributeError: 'dict' object has no attribute 'itmes'. Did you mean: 'items'?
        """),
        Want("d.items()", "`items`", "a 1\n"),
        id="misspelled_dict_method",
    ),
    pytest.param(
        dedent("""
            import math

            print(math.sqroot(16))
        """),
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 3, in <module>
                print(math.sqroot(16))
                      ^^^^^^^^^^^
            AttributeError: module 'math' has no attribute 'sqroot'. Did you mean: 'sqrt'?
        """),
        Want("math.sqrt(16)", "`sqrt`", "4.0\n"),
        id="misspelled_module_function",
    ),
    pytest.param(
        dedent("""
            class Dog:
                def bark(self):
                    return "woof"


            print(Dog().barkk())
        """),
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 6, in <module>
                print(Dog().barkk())
                      ^^^^^^^^^^^
            AttributeError: 'Dog' object has no attribute 'barkk'. Did you mean: 'bark'?
        """),
        Want("Dog().bark()", "`bark`", "woof\n"),
        id="misspelled_method_of_user_class",
    ),
    pytest.param(
        dedent("""
            done = true
            if done:
                print("ok")
        """),
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 1, in <module>
                done = true
                       ^^^^
            NameError: name 'true' is not defined. Did you mean: 'True'?
        """),
        Want("done = True", "`True`", "ok\n"),
        id="lowercase_true",
    ),
    pytest.param(
        dedent("""
            class Dog:
                def __init__(self, name):
                    self.name = name

                def speak(self):
                    return name + " says woof"


            print(Dog("Rex").speak())
        """),
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 9, in <module>
                print(Dog("Rex").speak())
                      ^^^^^^^^^^^^^^^^^^
              File "/home/ann/project/main.py", line 6, in speak
                return name + " says woof"
                       ^^^^
            NameError: name 'name' is not defined
        """),
        Want('return self.name + " says woof"', "self.name", "Rex says woof\n"),
        id="attribute_without_self",
    ),
    pytest.param(
        dedent("""
            class Counter:
                def start():
                    return 0


            print(Counter().start())
        """),
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 6, in <module>
                print(Counter().start())
                      ^^^^^^^^^^^^^^^^^
            TypeError: Counter.start() takes 0 positional arguments but 1 was given
        """),
        Want("def start(self):", "`self`", "0\n"),
        id="method_missing_self",
    ),
    # 6. Missing standard-library imports.
    pytest.param(
        dedent("""
            print(math.sqrt(16))
        """),
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 1, in <module>
                print(math.sqrt(16))
                      ^^^^
            NameError: name 'math' is not defined
        """),
        Want("import math\n", "import math", "4.0\n"),
        id="missing_import_math",
    ),
    pytest.param(
        dedent("""
            print(os.path.basename("/a/b.txt"))
            print(json.dumps([1]))
        """),
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 1, in <module>
                print(os.path.basename("/a/b.txt"))
                      ^^
            NameError: name 'os' is not defined
        """),
        Want("import json\nimport os\n", "import os", "b.txt\n[1]\n"),
        id="missing_imports_os_and_json",
    ),
    pytest.param(
        dedent("""
            c = Counter("hello")
            d = defaultdict(int)
            d["x"] += 1
            print(c["l"], d["x"])
        """),
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 1, in <module>
                c = Counter("hello")
                    ^^^^^^^
            NameError: name 'Counter' is not defined
        """),
        Want("from collections import Counter, defaultdict", "collections", "2 1\n"),
        id="missing_collections_names",
    ),
    pytest.param(
        dedent("""
            print(datetime(2020, 1, 2).year)
            print(datetime.now().year > 2000)
        """),
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 1, in <module>
                print(datetime(2020, 1, 2).year)
                      ^^^^^^^^
            NameError: name 'datetime' is not defined
        """),
        Want("from datetime import datetime", "datetime", "2020\nTrue\n"),
        id="missing_datetime_class",
    ),
    pytest.param(
        dedent("""
            print(datetime.date(2020, 1, 2).isoformat())
        """),
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 1, in <module>
                print(datetime.date(2020, 1, 2).isoformat())
                      ^^^^^^^^
            NameError: name 'datetime' is not defined
        """),
        Want("import datetime\n", "import datetime", "2020-01-02\n"),
        id="missing_datetime_module",
    ),
    pytest.param(
        '"""Tools."""\nimport os\n\nprint(sqrt(16), os.sep == os.sep)\n',
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 4, in <module>
                print(sqrt(16), os.sep == os.sep)
                      ^^^^
            NameError: name 'sqrt' is not defined
        """),
        Want(
            '"""Tools."""\nimport os\nfrom math import sqrt\n\nprint(sqrt(16), os.sep == os.sep)\n',
            "`math`",
            "4.0 True\n",
        ),
        id="import_goes_after_docstring_and_imports",
    ),
    pytest.param(
        dedent("""
            @dataclass
            class Point:
                x: int
                y: int


            def first_x(ps: List[Point]) -> Optional[int]:
                return ps[0].x if ps else None


            print(first_x([Point(3, 4)]))
        """),
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 1, in <module>
                @dataclass
                 ^^^^^^^^^
            NameError: name 'dataclass' is not defined
        """),
        Want("from typing import List, Optional", "dataclass", "3\n"),
        id="missing_typing_and_dataclass",
    ),
    # 7. Text joined to numbers.
    pytest.param(
        dedent("""
            age = 30
            print("Age: " + age)
        """),
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 2, in <module>
                print("Age: " + age)
                      ~~~~~~~~^~~~~
            TypeError: can only concatenate str (not "int") to str
        """),
        Want('print("Age: " + str(age))', "str(age)", "Age: 30\n"),
        id="str_plus_int_variable",
    ),
    pytest.param(
        dedent("""
            names = ["a", "b"]
            print("Count: " + len(names))
        """),
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 2, in <module>
                print("Count: " + len(names))
                      ~~~~~~~~~~^~~~~~~~~~~~
            TypeError: can only concatenate str (not "int") to str
        """),
        Want("str(len(names))", "number", "Count: 2\n"),
        id="str_plus_len",
    ),
    pytest.param(
        dedent("""
            for i in range(2):
                print("Item " + i)
        """),
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 2, in <module>
                print("Item " + i)
                      ~~~~~~~~^~~
            TypeError: can only concatenate str (not "int") to str
        """),
        Want('"Item " + str(i)', "str(i)", "Item 0\nItem 1\n"),
        id="str_plus_loop_counter",
    ),
    pytest.param(
        dedent("""
            count = 3
            print(count + " apples")
        """),
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 2, in <module>
                print(count + " apples")
                      ~~~~~~^~~~~~~~~~~
            TypeError: unsupported operand type(s) for +: 'int' and 'str'
        """),
        Want('str(count) + " apples"', "str(count)", "3 apples\n"),
        id="int_plus_str",
    ),
    pytest.param(
        dedent("""
            def get_total():
                return 42


            total = get_total()
            print("Total: " + total)
        """),
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 6, in <module>
                print("Total: " + total)
                      ~~~~~~~~~~^~~~~~~
            TypeError: can only concatenate str (not "int") to str
        """),
        Want('"Total: " + str(total)', "str(total)", "Total: 42\n"),
        id="str_plus_function_result_from_traceback",
    ),
    pytest.param(
        dedent("""
            msg = "n="
            msg += 5
            print(msg)
        """),
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 2, in <module>
                msg += 5
            TypeError: can only concatenate str (not "int") to str
        """),
        Want("msg += str(5)", "str(5)", "n=5\n"),
        id="str_augmented_with_int",
    ),
    # 8. `=` where `==` was meant.
    pytest.param(
        dedent("""
            x = 5
            if x = 5:
                print("five")
        """),
        dedent("""
              File "/home/ann/project/main.py", line 2
                if x = 5:
                   ^^^^^
            SyntaxError: invalid syntax. Maybe you meant '==' or ':=' instead of '='?
        """),
        Want("if x == 5:", "`==`", "five\n"),
        id="assignment_in_if",
    ),
    pytest.param(
        dedent("""
            x = 2
            if x == 1:
                print("one")
            elif x = 2:
                print("two")
        """),
        dedent("""
              File "/home/ann/project/main.py", line 4
                elif x = 2:
                     ^^^^^
            SyntaxError: invalid syntax. Maybe you meant '==' or ':=' instead of '='?
        """),
        Want("elif x == 2:", "`==`", "two\n"),
        id="assignment_in_elif",
    ),
    pytest.param(
        dedent("""
            n = 0
            while n = 0:
                n += 1
            print(n)
        """),
        dedent("""
              File "/home/ann/project/main.py", line 2
                while n = 0:
                      ^^^^^
            SyntaxError: invalid syntax. Maybe you meant '==' or ':=' instead of '='?
        """),
        Want("while n == 0:", "`==`", "1\n"),
        id="assignment_in_while",
    ),
    pytest.param(
        dedent("""
            a = 1
            x = 5
            if a == 1 and x = 5:
                print("yes")
        """),
        dedent("""
              File "/home/ann/project/main.py", line 3
                if a == 1 and x = 5:
                                ^
            SyntaxError: invalid syntax
        """),
        Want("if a == 1 and x == 5:", "`==`", "yes\n"),
        id="assignment_in_compound_condition",
    ),
    # Extras: habits from other languages and small slips.
    pytest.param(
        dedent("""
            x = 0
            if x > 0:
                print("pos")
            else if x == 0:
                print("zero")
        """),
        dedent("""
              File "/home/ann/project/main.py", line 4
                else if x == 0:
                     ^^
            SyntaxError: expected ':'
        """),
        Want("elif x == 0:", "`elif`", "zero\n"),
        id="else_if_becomes_elif",
    ),
    pytest.param(
        dedent("""
            age = input("Age? ")
            if age >= 18:
                print("adult")
        """),
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 2, in <module>
                if age >= 18:
                   ^^^^^^^^^
            TypeError: '>=' not supported between instances of 'str' and 'int'
        """),
        Want('age = int(input("Age? "))', "`int(...)`", None),
        id="input_compared_with_number",
    ),
    pytest.param(
        dedent("""
            i = 0
            i++
            print(i)
        """),
        dedent("""
              File "/home/ann/project/main.py", line 2
                i++
                   ^
            SyntaxError: invalid syntax
        """),
        Want("i += 1", "`++`", "1\n"),
        id="increment_operator",
    ),
    pytest.param(
        dedent("""
            a, b = True, False
            if a && !b:
                print("yes")
        """),
        dedent("""
              File "/home/ann/project/main.py", line 2
                if a && !b:
                      ^
            SyntaxError: invalid syntax
        """),
        Want("if a and not b:", "`and`", "yes\n"),
        id="javascript_logical_operators",
    ),
    pytest.param(
        dedent("""
            def f():
                retrun 5


            print(f())
        """),
        dedent("""
              File "/home/ann/project/main.py", line 2
                retrun 5
                       ^
            SyntaxError: invalid syntax
        """),
        Want("return 5", "`return`", "5\n"),
        id="misspelled_return_keyword",
    ),
    pytest.param(
        dedent("""
            nums = [1 2 3]
            print(nums)
        """),
        dedent("""
              File "/home/ann/project/main.py", line 1
                nums = [1 2 3]
                        ^^^
            SyntaxError: invalid syntax. Perhaps you forgot a comma?
        """),
        Want("[1, 2, 3]", "comma", "[1, 2, 3]\n"),
        id="missing_comma_in_list",
    ),
    pytest.param(
        dedent("""
            words = "to be or not".split()
            print("Words: " + str(words.length()))
        """),
        dedent("""
            Traceback (most recent call last):
              File "/home/ann/project/main.py", line 2, in <module>
                print("Words: " + str(words.length()))
                                      ^^^^^^^^^^^^
            AttributeError: 'list' object has no attribute 'length'
        """),
        Want("str(len(words))", "`len(words)`", "Words: 4\n"),
        id="length_method_becomes_len",
    ),
    # Several bugs in one snippet.
    pytest.param(
        dedent("""
            def area(r)
                return math.pi * r ** 2


            print 'Area: %.1f' % area(1)
        """),
        dedent("""
              File "/home/ann/project/main.py", line 1
                def area(r)
                           ^
            SyntaxError: expected ':'
        """),
        Want("import math\n", "3 fixes", "Area: 3.1\n"),
        id="python2_print_colon_and_import",
    ),
    pytest.param(
        dedent("""
            def report(scores)
                count = len(scores)
                return "Count: " + cuont


            print(report([3, 9]))
        """),
        dedent("""
              File "/home/ann/project/main.py", line 1
                def report(scores)
                                  ^
            SyntaxError: expected ':'
        """),
        Want('return "Count: " + str(count)', "fixes", "Count: 2\n"),
        id="colon_typo_and_concat",
    ),
    pytest.param(
        dedent("""
            def roll():
            return randint(1, 1)


            print(roll())
        """),
        dedent("""
              File "/home/ann/project/main.py", line 2
                return randint(1, 1)
                ^
            IndentationError: expected an indented block after function definition on line 1
        """),
        Want("from random import randint", "fixes", "1\n"),
        id="indent_and_missing_import",
    ),
    pytest.param(
        dedent("""
            class Stack
                def __init__(self):
                    self.items = []

                def push(item):
                    self.items.apend(item)
                    return self


            print(Stack().push(1).items)
        """),
        dedent("""
              File "/home/ann/project/main.py", line 1
                class Stack
                           ^
            SyntaxError: expected ':'
        """),
        Want("def push(self, item):", "fixes", "[1]\n"),
        id="class_with_colon_self_and_attr_typo",
    ),
]


@pytest.mark.parametrize(("code", "error", "want"), CASES)
def test_broken_snippet_gets_a_fix_that_compiles_and_runs(code: str, error: str, want: Want):
    result = fix_python(code, error)
    fixed = assert_usable(result)
    assert want.fixed in fixed
    assert want.says.lower() in result.explanation.lower()
    if want.prints is not None:
        assert run(fixed) == want.prints


@pytest.mark.parametrize(("code", "error", "want"), CASES)
def test_the_same_snippet_works_without_the_error_text_or_fails_honestly(
    code: str, error: str, want: Want
):
    result = fix_python(code)
    if result.fixed_code is None:
        assert "couldn't find a confident fix" in result.explanation
    else:
        assert_usable(result)


@pytest.mark.parametrize(("code", "error", "want"), CASES)
def test_fixed_code_has_nothing_left_to_fix(code: str, error: str, want: Want):
    fixed = fix_python(code, error).fixed_code
    assert fixed is not None
    assert fix_python(fixed).fixed_code is None


def test_engine_is_deterministic():
    for param in CASES:
        code, error, _ = param.values
        assert fix_python(code, error) == fix_python(code, error)


def test_missing_colon_after_if_is_added_and_nothing_else_changes():
    code = "# check the size\nx = 7\n\nif x > 5  # big?\n    print('big')\n"
    result = fix_python(code)
    assert result.fixed_code == "# check the size\nx = 7\n\nif x > 5:  # big?\n    print('big')\n"
    assert result.rules == ("missing_colon",)
    assert result.explanation.startswith("Line 4: `if x > 5` is missing the colon")


def test_explanation_lists_one_bullet_per_fix_with_the_users_line_numbers():
    code = "def area(r)\n    return math.pi * r ** 2\n\nprint 'Area:', area(2)\n"
    result = fix_python(code)
    lines = result.explanation.splitlines()
    assert lines[0] == "I made 3 fixes:"
    assert lines[1].startswith("- Line 1: `def area(r)` is missing the colon")
    assert lines[2].startswith("- Line 2: `math` is a standard-library module")
    assert lines[3].startswith("- Line 4: `print 'Area:', area(2)` is Python 2 syntax")
    assert result.rules == ("missing_colon", "python2_print", "missing_import")


def test_crlf_line_endings_and_trailing_newline_are_preserved():
    result = fix_python("x = 3\r\nif x > 2\r\n    print(x)\r\n")
    assert result.fixed_code == "x = 3\r\nif x > 2:\r\n    print(x)\r\n"
    assert fix_python("print 'hi'").fixed_code == "print('hi')"


def test_tab_indented_code_keeps_its_tabs_when_they_are_consistent():
    result = fix_python("for i in range(2)\n\tprint(i)\n")
    assert result.fixed_code == "for i in range(2):\n\tprint(i)\n"


def test_unicode_names_are_matched_across_a_missing_accent():
    result = fix_python("café = 3\nprint(cafe)\n")
    assert result.fixed_code == "café = 3\nprint(café)\n"


def test_misspelled_self_parameter_is_renamed_not_doubled():
    code = "class A:\n    n = 1\n\n    def get(slf):\n        return self.n\n\n\nprint(A().get())\n"
    result = fix_python(code)
    assert "    def get(self):\n" in assert_usable(result)
    assert run(result.fixed_code or "") == "1\n"


def test_ambiguous_datetime_use_is_left_alone():
    result = fix_python("a = datetime.now()\nb = datetime.datetime.now()\n")
    assert result.fixed_code is None
    assert "`datetime`" in result.explanation


@pytest.mark.parametrize(
    ("code", "error", "says"),
    [
        pytest.param(
            "total = 10\ncount = 0\nprint(total / count)\n",
            dedent("""
                Traceback (most recent call last):
                  File "/home/ann/project/main.py", line 3, in <module>
                    print(total / count)
                          ~~~~~~^~~~~~~
                ZeroDivisionError: division by zero
            """),
            "divided a number by zero",
            id="zero_division",
        ),
        pytest.param(
            "items = [1, 2, 3]\nprint(items[3])\n",
            dedent("""
                Traceback (most recent call last):
                  File "/home/ann/project/main.py", line 2, in <module>
                    print(items[3])
                          ~~~~~^^^
                IndexError: list index out of range
            """),
            "past the end",
            id="index_error",
        ),
        pytest.param(
            'ages = {"ann": 31}\nprint(ages["bob"])\n',
            dedent("""
                Traceback (most recent call last):
                  File "/home/ann/project/main.py", line 2, in <module>
                    print(ages["bob"])
                          ~~~~^^^^^^^
                KeyError: 'bob'
            """),
            "key 'bob'",
            id="key_error",
        ),
        pytest.param(
            "print(frobnicate(3))\n",
            dedent("""
                Traceback (most recent call last):
                  File "/home/ann/project/main.py", line 1, in <module>
                    print(frobnicate(3))
                          ^^^^^^^^^^
                NameError: name 'frobnicate' is not defined
            """),
            "`frobnicate` is used but never defined",
            id="unknown_name",
        ),
        pytest.param(
            "asdf qwer zxcv\n",
            dedent("""
                  File "/home/ann/project/main.py", line 1
                    asdf qwer zxcv
                         ^^^^
                SyntaxError: invalid syntax
            """),
            "can't read it on line 1",
            id="gibberish",
        ),
        pytest.param(
            "for line in inputs:\n    print(line)\n",
            dedent("""
                Traceback (most recent call last):
                  File "/home/ann/project/main.py", line 1, in <module>
                    for line in inputs:
                                ^^^^^^
                NameError: name 'inputs' is not defined. Did you mean: 'input'?
            """),
            "`inputs` is used but never defined",
            id="plural_name_is_not_a_builtin_typo",
        ),
        pytest.param("x = 1\n", "", "paste the error message", id="correct_code_no_error"),
        pytest.param("   \n", "", "no code", id="blank"),
    ],
)
def test_no_confident_fix_returns_none_and_says_why(code: str, error: str, says: str):
    result = fix_python(code, error)
    assert result.fixed_code is None
    assert result.rules == ()
    assert result.explanation.startswith("I couldn't find a confident fix")
    assert says.lower() in result.explanation.lower()


NASTY = [
    "",
    "# only a comment",
    "\n\n\n",
    "x = 1" + " + 1" * 3000 + "\n",
    "print('" + "a" * 20000 + "\n",
    "naïve = 'x'\nprint(naive.uper())\n",
    "if True:\r\n\tprint(1)\r\n        print(2)\r\n",
    "\t\tx = 1\n  y = 2\n",
    "\x00",
    "(" * 300,
    ")" * 50,
    "[" * 100 + "]" * 99,
    "'",
    "'''never closed",
    "\\",
    "def",
    "print >>",
    "if x = = 5:\n    pass\n",
    "€€€",
    "\ufeffprint(1)\n",
    "if x:\n" * 150,
    "def f(\n" * 50,
    "f'{x'\n",
    "a = [1,\n2,\n3\n",
    "return\n",
]


@pytest.mark.parametrize("code", NASTY, ids=[f"nasty{i}" for i in range(len(NASTY))])
def test_nasty_input_never_gets_code_that_fails_to_compile(code: str):
    result = fix_python(code, "SyntaxError: invalid syntax")
    assert result.explanation
    if result.fixed_code is not None:
        compile(result.fixed_code, "<fixed>", "exec")


def test_provider_returns_the_engine_fix_without_tokens():
    prompt = FixPrompt(
        code="print 'hi'\n", error="SyntaxError: Missing parentheses", language="python"
    )
    reply = asyncio.run(BuiltinProvider().complete(prompt))
    assert reply.fixed_code == "print('hi')\n"
    assert "Python 2" in reply.explanation
    assert (reply.model, reply.prompt_tokens, reply.completion_tokens) == ("builtin-rules-1", 0, 0)


def test_provider_declines_other_languages_in_words_meant_for_the_user():
    prompt = FixPrompt(code="console.log(x", error="SyntaxError", language="javascript")
    reply = asyncio.run(BuiltinProvider().complete(prompt))
    assert reply.fixed_code is None
    assert "only fixes Python" in reply.explanation
    assert "JavaScript" in reply.explanation
    assert "BUGFIXER_" not in reply.explanation  # settings are for the operator, not visitors


def test_provider_says_which_languages_the_form_may_offer():
    assert BuiltinProvider.languages == frozenset({"python"})


def test_provider_retry_repairs_what_the_previous_fix_left():
    prompt = FixPrompt(
        code="x = 1\nprint(x + y)\n",
        error="",
        language="python",
        feedback="NameError: name 'lenght' is not defined. Did you mean: 'length'?",
        previous_fix="length = 3\nprint(lenght)\n",
    )
    reply = asyncio.run(BuiltinProvider().complete(prompt))
    assert reply.fixed_code == "length = 3\nprint(length)\n"


def test_provider_retry_with_nothing_new_to_offer_returns_none():
    prompt = FixPrompt(
        code="print(1 / 0)\n",
        error="ZeroDivisionError: division by zero",
        language="python",
        feedback="ZeroDivisionError: division by zero",
        previous_fix="print(1 / 0)\n",
    )
    reply = asyncio.run(BuiltinProvider().complete(prompt))
    assert reply.fixed_code is None
    assert "no other fix" in reply.explanation
