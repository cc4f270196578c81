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


CASES = [
    Case(
        "index_len",
        "items = [3, 5, 8]\nlast = items[len(items)]\nprint(last)\n",
        "items[len(items) - 1]",
        "8\n",
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
    ),
    Case(
        "key_case",
        'user = {"name": "Ann", "age": 31}\nprint(user["Name"])\n',
        'user["name"]',
        "Ann\n",
    ),
    Case(
        "key_typo",
        'prices = {"apple": 1.5, "banana": 0.25}\nprint(prices["banana"] + prices["aple"])\n',
        'prices["apple"]',
        "1.75\n",
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
    ),
    Case(
        "str_plus_int",
        'age = 30\nprint("You are " + age + " years old")\n',
        "str(age)",
        "You are 30 years old\n",
    ),
    Case(
        "int_plus_str",
        'total = 5\nextra = "3"\nprint(total + extra)\n',
        "int(extra)",
        "8\n",
    ),
    Case(
        "str_compare_int",
        'score = "72"\nif score > 50:\n    print("pass")\n',
        "int(score) > 50",
        "pass\n",
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
    ),
    Case(
        "implicit_multiplication",
        "x = 4\nprint(2(x + 1))\n",
        "2 * (x + 1)",
        "10\n",
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
    ),
    Case(
        "list_called",
        "colors = ['red', 'green']\nprint(colors(0))\n",
        "colors[0]",
        "red\n",
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
    ),
    Case(
        "push",
        "stack = []\nstack.push(1)\nstack.push(2)\nprint(stack)\n",
        "stack.append(1)",
        "[1, 2]\n",
    ),
    Case(
        "length",
        'word = "python"\nprint(word.length())\n',
        "len(word)",
        "6\n",
    ),
    Case(
        "has_key",
        'stock = {"pens": 3}\nif stock.has_key("pens"):\n    print("in stock")\n',
        '"pens" in stock',
        "in stock\n",
    ),
    Case(
        "iteritems",
        'ages = {"ann": 31, "bob": 27}\nfor name, age in ages.iteritems():\n    print(name, age)\n',
        "ages.items()",
        "ann 31\nbob 27\n",
    ),
    Case(
        "method_on_number",
        "code = 2024\nprint(code.zfill(6))\n",
        "str(code).zfill(6)",
        "002024\n",
    ),
    Case(
        "int_of_decimal_text",
        'price = "3.5"\nprint(int(price) * 2)\n',
        "int(float(price))",
        "6\n",
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
    ),
    Case(
        "unpack_dict",
        'stock = {"pens": 3, "ink": 5}\nfor item, qty in stock:\n    print(item, qty)\n',
        "stock.items()",
        "pens 3\nink 5\n",
    ),
    Case(
        "unpack_split",
        'line = "Ann,Smith,31"\nname, rest = line.split(",")\nprint(name, rest)\n',
        'line.split(",", 1)',
        "Ann Smith,31\n",
    ),
    Case(
        "format_args_outside",
        'name = "Ann"\nage = 31\nprint("%s is %d years old" % name, age)\n',
        "% (name, age)",
        "Ann is 31 years old\n",
    ),
    Case(
        "format_braces_with_percent",
        'name = "Ann"\nprint("Hello {}" % name)\n',
        '"Hello {}".format(name)',
        "Hello Ann\n",
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
    ),
    Case(
        "join_numbers",
        'nums = [1, 2, 3]\nprint(", ".join(nums))\n',
        "map(str, nums)",
        "1, 2, 3\n",
    ),
    Case(
        "loop_over_length",
        'names = ["ann", "bob"]\nfor i in len(names):\n    print(names[i])\n',
        "range(len(names))",
        "ann\nbob\n",
    ),
    Case(
        "loop_item_as_index",
        'fruits = ["fig", "kiwi"]\nfor fruit in fruits:\n    print(fruits[fruit])\n',
        "print(fruit)",
        "fig\nkiwi\n",
    ),
    Case(
        "misspelled_builtin",
        "nums = [3, 1, 2]\nprint(sortd(nums))\n",
        "sorted(nums)",
        "[1, 2, 3]\n",
    ),
    Case(
        "misspelled_module_import",
        "import maths\n\nprint(maths.sqrt(16))\n",
        "import math\n",
        "4.0\n",
    ),
    Case(
        "misspelled_from_import",
        "from math import factorail\n\nprint(factorail(4))\n",
        "from math import factorial",
        "24\n",
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
    ),
]
