"""Programs that parse but stop with an error when run: the mistakes beginners make most.

Shared by the engine's sandboxed tests and ``bench/builtin_runtime.py``. Each case is the
program, the change its fix must contain, and what the fixed program must print.
"""

from __future__ import annotations

import textwrap
from typing import NamedTuple


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


class Case(NamedTuple):
    id: str
    code: str
    fixed: str  # a substring of the fixed program
    prints: str  # the fixed program's whole stdout
    test: str = ""  # the user's test, appended to the program
    raises: str = ""  # the exception the program stops with (CPython 3.11)
    line: int = 0  # the line it is raised on (past the program: in the test)


CASES = [
    Case(
        "index_len",
        "items = [3, 5, 8]\nlast = items[len(items)]\nprint(last)\n",
        "items[len(items) - 1]",
        "8\n",
        raises="IndexError: list index out of range",
        line=2,
    ),
    Case(
        "index_range_plus_one",
        dedent("""
            names = ["ann", "bob", "cy"]
            for i in range(len(names) + 1):
                print(names[i])
        """),
        "range(len(names))",
        "ann\nbob\ncy\n",
        raises="IndexError: list index out of range",
        line=3,
    ),
    Case(
        "index_while_lte",
        dedent("""
            nums = [4, 2, 7]
            i = 0
            total = 0
            while i <= len(nums):
                total += nums[i]
                i += 1
            print(total)
        """),
        "while i < len(nums):",
        "13\n",
        raises="IndexError: list index out of range",
        line=5,
    ),
    Case(
        "index_next_item",
        dedent("""
            temps = [20, 22, 19, 25]
            for i in range(len(temps)):
                print(temps[i + 1] - temps[i])
        """),
        "range(len(temps) - 1)",
        "2\n-3\n6\n",
        raises="IndexError: list index out of range",
        line=3,
    ),
    Case(
        "key_case",
        'user = {"name": "Ann", "age": 31}\nprint(user["Name"])\n',
        'user["name"]',
        "Ann\n",
        raises="KeyError: 'Name'",
        line=2,
    ),
    Case(
        "key_case_from_the_caller",
        dedent("""
            PHONES = {"Ann": "555-1234", "Bob": "555-9876"}

            def phone_of(name):
                return PHONES[name]

            print(phone_of("ann"))
        """),
        'phone_of("Ann")',
        "555-1234\n",
        raises="KeyError: 'ann'",
        line=4,
    ),
    Case(
        "key_typo",
        'prices = {"apple": 1.5, "banana": 0.25}\nprint(prices["banana"] + prices["aple"])\n',
        'prices["apple"]',
        "1.75\n",
        raises="KeyError: 'aple'",
        line=2,
    ),
    Case(
        "key_count_words",
        dedent("""
            counts = {}
            for word in "the cat and the hat".split():
                counts[word] += 1
            print(counts["the"])
        """),
        "counts[word] = counts.get(word, 0) + 1",
        "2\n",
        raises="KeyError: 'the'",
        line=3,
    ),
    Case(
        "str_plus_int",
        'age = 30\nprint("You are " + age + " years old")\n',
        "str(age)",
        "You are 30 years old\n",
        raises='TypeError: can only concatenate str (not "int") to str',
        line=2,
    ),
    Case(
        "text_plus_one",
        'age_text = "41"\nprint(age_text + 1)\n',
        "int(age_text) + 1",
        "42\n",
        raises='TypeError: can only concatenate str (not "int") to str',
        line=2,
    ),
    Case(
        "int_plus_str",
        'total = 5\nextra = "3"\nprint(total + extra)\n',
        "int(extra)",
        "8\n",
        raises="TypeError: unsupported operand type(s) for +: 'int' and 'str'",
        line=3,
    ),
    Case(
        "str_compare_int",
        'score = "72"\nif score > 50:\n    print("pass")\n',
        "int(score) > 50",
        "pass\n",
        raises="TypeError: '>' not supported between instances of 'str' and 'int'",
        line=2,
    ),
    Case(
        "missing_argument",
        dedent("""
            def greet(name, greeting):
                return greeting + ", " + name


            greeting = "Hello"
            print(greet("Ann"))
        """),
        'greet("Ann", greeting)',
        "Hello, Ann\n",
        raises="TypeError: greet() missing 1 required positional argument: 'greeting'",
        line=6,
    ),
    Case(
        "extra_argument",
        dedent("""
            def area(width):
                return width * height


            print(area(3, 4))
        """),
        "def area(width, height):",
        "12\n",
        raises="TypeError: area() takes 1 positional argument but 2 were given",
        line=5,
    ),
    Case(
        "method_without_self",
        dedent("""
            class Dog:
                def bark():
                    return "Woof"


            print(Dog().bark())
        """),
        "def bark(self):",
        "Woof\n",
        raises="TypeError: Dog.bark() takes 0 positional arguments but 1 was given",
        line=6,
    ),
    Case(
        "init_misspelled",
        dedent("""
            class Point:
                def _init_(self, x, y):
                    self.x = x
                    self.y = y


            p = Point(1, 2)
            print(p.x + p.y)
        """),
        "def __init__(self, x, y):",
        "3\n",
        raises="TypeError: Point() takes no arguments",
        line=7,
    ),
    Case(
        "implicit_multiplication",
        "x = 4\nprint(2(x + 1))\n",
        "2 * (x + 1)",
        "10\n",
        raises="TypeError: 'int' object is not callable",
        line=2,
    ),
    Case(
        "shadowed_builtin",
        dedent("""
            sum = 0
            for n in [1, 2, 3]:
                sum += n
            print(sum)
            print(sum([4, 5]))
        """),
        "total += n",
        "6\n9\n",
        raises="TypeError: 'int' object is not callable",
        line=5,
    ),
    Case(
        "list_called",
        "colors = ['red', 'green']\nprint(colors(0))\n",
        "colors[0]",
        "red\n",
        raises="TypeError: 'list' object is not callable",
        line=2,
    ),
    Case(
        "none_from_function",
        dedent("""
            def add(a, b):
                result = a + b


            total = add(2, 3) * 10
            print(total)
        """),
        "return result",
        "50\n",
        raises="TypeError: unsupported operand type(s) for *: 'NoneType' and 'int'",
        line=5,
    ),
    Case(
        "none_from_sort",
        dedent("""
            scores = [70, 95, 82]
            ranked = scores.sort()
            print(ranked[0])
        """),
        "ranked = sorted(scores)",
        "70\n",
        raises="TypeError: 'NoneType' object is not subscriptable",
        line=3,
    ),
    Case(
        "push",
        "stack = []\nstack.push(1)\nstack.push(2)\nprint(stack)\n",
        "stack.append(1)",
        "[1, 2]\n",
        raises="AttributeError: 'list' object has no attribute 'push'",
        line=2,
    ),
    Case(
        "length",
        'word = "python"\nprint(word.length())\n',
        "len(word)",
        "6\n",
        raises="AttributeError: 'str' object has no attribute 'length'",
        line=2,
    ),
    Case(
        "has_key",
        'stock = {"pens": 3}\nif stock.has_key("pens"):\n    print("in stock")\n',
        '"pens" in stock',
        "in stock\n",
        raises="AttributeError: 'dict' object has no attribute 'has_key'",
        line=2,
    ),
    Case(
        "iteritems",
        'ages = {"ann": 31, "bob": 27}\nfor name, age in ages.iteritems():\n    print(name, age)\n',
        "ages.items()",
        "ann 31\nbob 27\n",
        raises="AttributeError: 'dict' object has no attribute 'iteritems'",
        line=2,
    ),
    Case(
        "method_on_number",
        "code = 2024\nprint(code.zfill(6))\n",
        "str(code).zfill(6)",
        "002024\n",
        raises="AttributeError: 'int' object has no attribute 'zfill'",
        line=2,
    ),
    Case(
        "int_of_decimal_text",
        'price = "3.5"\nprint(int(price) * 2)\n',
        "float(price)",
        "7.0\n",
        raises="ValueError: invalid literal for int() with base 10: '3.5'",
        line=2,
    ),
    Case(
        "int_of_whole_decimal_text",
        'count = "3.0"\nprint(int(count) * 2)\n',
        "int(float(count))",
        "6\n",
        raises="ValueError: invalid literal for int() with base 10: '3.0'",
        line=2,
    ),
    Case(
        "average_of_empty",
        dedent("""
            def average(nums):
                return sum(nums) / len(nums)


            print(average([2, 4]))
            print(average([]))
        """),
        "if nums else 0",
        "3.0\n0\n",
        raises="ZeroDivisionError: division by zero",
        line=2,
    ),
    Case(
        "global_in_function",
        dedent("""
            count = 0


            def click():
                count += 1


            click()
            click()
            print(count)
        """),
        "global count",
        "2\n",
        raises=(
            "UnboundLocalError: cannot access local variable 'count' where it is not "
            "associated with a value"
        ),
        line=5,
    ),
    Case(
        "unpack_dict",
        'stock = {"pens": 3, "ink": 5}\nfor item, qty in stock:\n    print(item, qty)\n',
        "stock.items()",
        "pens 3\nink 5\n",
        raises="ValueError: too many values to unpack (expected 2)",
        line=2,
    ),
    Case(
        "unpack_split",
        'line = "Ann,Smith,31"\nname, rest = line.split(",")\nprint(name, rest)\n',
        'line.split(",", 1)',
        "Ann Smith,31\n",
        raises="ValueError: too many values to unpack (expected 2)",
        line=2,
    ),
    Case(
        "format_args_outside",
        'name = "Ann"\nage = 31\nprint("%s is %d years old" % name, age)\n',
        "% (name, age)",
        "Ann is 31 years old\n",
        raises="TypeError: not enough arguments for format string",
        line=3,
    ),
    Case(
        "format_braces_with_percent",
        'name = "Ann"\nprint("Hello {}" % name)\n',
        '"Hello {}".format(name)',
        "Hello Ann\n",
        raises="TypeError: not all arguments converted during string formatting",
        line=2,
    ),
    Case(
        "dict_changed_while_iterating",
        dedent("""
            stock = {"pens": 0, "ink": 5, "paper": 0}
            for item in stock:
                if stock[item] == 0:
                    del stock[item]
            print(stock)
        """),
        "for item in list(stock):",
        "{'ink': 5}\n",
        raises="RuntimeError: dictionary changed size during iteration",
        line=2,
    ),
    Case(
        "recursion_no_base_case",
        dedent("""
            def factorial(n):
                return n * factorial(n - 1)


            print(factorial(5))
        """),
        "return 1",
        "120\n",
        raises="RecursionError: maximum recursion depth exceeded",
        line=2,
    ),
    Case(
        "recursion_base_skipped",
        dedent("""
            def countdown(n):
                if n == 0:
                    return "liftoff"
                return countdown(n - 2)


            print(countdown(5))
        """),
        "if n <= 0:",
        "liftoff\n",
        raises="RecursionError: maximum recursion depth exceeded",
        line=4,
    ),
    Case(
        "json_single_quotes",
        dedent("""
            import json

            data = json.loads("{'name': 'Ann', 'admin': True}")
            print(data['name'])
        """),
        """'{"name": "Ann", "admin": true}'""",
        "Ann\n",
        raises=(
            "json.decoder.JSONDecodeError: Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)"
        ),
        line=3,
    ),
    Case(
        "join_numbers",
        'nums = [1, 2, 3]\nprint(", ".join(nums))\n',
        "map(str, nums)",
        "1, 2, 3\n",
        raises="TypeError: sequence item 0: expected str instance, int found",
        line=2,
    ),
    Case(
        "loop_over_length",
        'names = ["ann", "bob"]\nfor i in len(names):\n    print(names[i])\n',
        "range(len(names))",
        "ann\nbob\n",
        raises="TypeError: 'int' object is not iterable",
        line=2,
    ),
    Case(
        "loop_item_as_index",
        'fruits = ["fig", "kiwi"]\nfor fruit in fruits:\n    print(fruits[fruit])\n',
        "print(fruit)",
        "fig\nkiwi\n",
        raises="TypeError: list indices must be integers or slices, not str",
        line=3,
    ),
    Case(
        "misspelled_builtin",
        "nums = [3, 1, 2]\nprint(sortd(nums))\n",
        "sorted(nums)",
        "[1, 2, 3]\n",
        raises="NameError: name 'sortd' is not defined. Did you mean: 'sorted'?",
        line=2,
    ),
    Case(
        "misspelled_module_import",
        "import maths\n\nprint(maths.sqrt(16))\n",
        "import math\n",
        "4.0\n",
        raises="ModuleNotFoundError: No module named 'maths'",
        line=1,
    ),
    Case(
        "misspelled_from_import",
        "from math import factorail\n\nprint(factorail(4))\n",
        "from math import factorial",
        "24\n",
        raises="ImportError: cannot import name 'factorail' from 'math'",
        line=1,
    ),
    Case(
        "both_sides_text",
        'a = "10"\nb = "4"\nprint(a - b)\n',
        "int(a) - int(b)",
        "6\n",
        raises="TypeError: unsupported operand type(s) for -: 'str' and 'str'",
        line=3,
    ),
    Case(
        "expression_not_returned",
        dedent("""
            def average(nums):
                total = sum(nums)
                total / len(nums)


            print(average([1, 3]) + 1)
        """),
        "return total / len(nums)",
        "3.0\n",
        raises="TypeError: unsupported operand type(s) for +: 'NoneType' and 'int'",
        line=6,
    ),
    Case(
        "module_called",
        "import random\n\nrandom.seed(4)\nprint(random() < 1)\n",
        "random.random()",
        "True\n",
        raises="TypeError: 'module' object is not callable",
        line=4,
    ),
    Case(
        "unhashable_list",
        "seen = set()\nseen.add([1, 2])\nprint(len(seen))\n",
        "seen.add(tuple([1, 2]))",
        "1\n",
        raises="TypeError: unhashable type: 'list'",
        line=2,
    ),
    Case(
        "keyword_typo",
        'print("a", "b", seperator="-")\n',
        'sep="-"',
        "a-b\n",
        raises="TypeError: 'seperator' is an invalid keyword argument for print()",
        line=1,
    ),
    Case(
        "remove_missing_item",
        "items = [1, 2, 3]\nitems.remove(4)\nprint(items)\n",
        "if 4 in items:",
        "[1, 2, 3]\n",
        raises="ValueError: list.remove(x): x not in list",
        line=2,
    ),
    Case(
        "max_of_empty",
        "scores = []\nprint(max(scores))\n",
        "max(scores, default=0)",
        "0\n",
        raises="ValueError: max() arg is an empty sequence",
        line=2,
    ),
    Case(
        "set_changed_while_iterating",
        dedent("""
            seen = {1, 2, 3, 4}
            for x in seen:
                if x % 2 == 0:
                    seen.remove(x)
            print(seen)
        """),
        "for x in list(seen):",
        "{1, 3}\n",
        raises="RuntimeError: Set changed size during iteration",
        line=2,
    ),
    Case(
        "recursion_over_slices",
        dedent("""
            def total(items):
                return items[0] + total(items[1:])


            print(total([1, 2, 3]))
        """),
        "if not items:",
        "6\n",
        raises="IndexError: list index out of range",
        line=2,
    ),
    Case(
        "tuple_append",
        "point = (1, 2)\npoint.append(3)\nprint(point)\n",
        "point = [1, 2]",
        "[1, 2, 3]\n",
        raises="AttributeError: 'tuple' object has no attribute 'append'",
        line=2,
    ),
    Case(
        "list_join",
        'words = ["a", "b", "c"]\nprint(words.join("-"))\n',
        '"-".join(words)',
        "a-b-c\n",
        raises="AttributeError: 'list' object has no attribute 'join'",
        line=2,
    ),
    Case(
        "dict_keys_index",
        'd = {"a": 1, "b": 2}\nprint(d.keys()[0])\n',
        "list(d.keys())[0]",
        "a\n",
        raises="TypeError: 'dict_keys' object is not subscriptable",
        line=2,
    ),
    Case(
        "zero_in_range",
        "total = 0\nfor d in range(5):\n    total += 10 % d\nprint(total)\n",
        "range(1, 5)",
        "3\n",
        raises="ZeroDivisionError: integer modulo by zero",
        line=3,
    ),
    Case(
        "attribute_called",
        dedent("""
            class Pet:
                def __init__(self):
                    self.name = "Rex"


            print(Pet().name())
        """),
        "print(Pet().name)",
        "Rex\n",
        raises="TypeError: 'str' object is not callable",
        line=6,
    ),
    Case(
        "length_of_number",
        "n = 12345\nprint(len(n))\n",
        "len(str(n))",
        "5\n",
        raises="TypeError: object of type 'int' has no len()",
        line=2,
    ),
    Case(
        "range_of_division",
        "n = 7\nfor i in range(n / 2):\n    print(i)\n",
        "range(n // 2)",
        "0\n1\n2\n",
        raises="TypeError: 'float' object cannot be interpreted as an integer",
        line=2,
    ),
    Case(
        "string_item_assignment",
        'word = "cat"\nword[0] = "b"\nprint(word)\n',
        'word = "b" + word[1:]',
        "bat\n",
        raises="TypeError: 'str' object does not support item assignment",
        line=2,
    ),
    Case(
        "text_times_decimal",
        'price = "2.5"\nprint(price * 2.0)\n',
        "float(price) * 2.0",
        "5.0\n",
        raises="TypeError: can't multiply sequence by non-int of type 'float'",
        line=2,
    ),
    Case(
        "odd_check_on_text",
        'n = "7"\nif n % 2 == 1:\n    print("odd")\n',
        "int(n) % 2",
        "odd\n",
        raises="TypeError: not all arguments converted during string formatting",
        line=2,
    ),
    Case(
        "substring_not_found",
        's = "hello"\nprint(s.index("z"))\n',
        's.find("z")',
        "-1\n",
        raises="ValueError: substring not found",
        line=2,
    ),
    Case(
        "off_by_one_with_test",
        dedent("""
            def total_up_to(n):
                total = 0
                for i in range(1, n):
                    total += i
                return total
        """),
        "range(1, n + 1)",
        "",
        test="assert total_up_to(4) == 10\n",
        raises="AssertionError",
        line=7,
    ),
]
