"""The source of ``python.jsonl``: buggy Python programs, each with a test that judges a fix.

Written for ``bugfixer eval`` apart from the engine's rules and test cases. Each test
checks behaviour on inputs beyond the one in the error, so a fix that merely silences
the error fails. Regenerate the task file after editing:

    .venv/bin/python bench/tasks/python_tasks.py
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path


def d(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


# (id, code, error as a user would paste it, test)
TASKS: list[tuple[str, str, str, str]] = [
    # -- syntax ----------------------------------------------------------------------------
    (
        "syntax_missing_colon_def",
        d("""
            def area(width, height)
                return width * height
        """),
        "SyntaxError: expected ':'",
        "assert area(3, 4) == 12\nassert area(0, 5) == 0\n",
    ),
    (
        "syntax_missing_colon_for",
        d("""
            def total(prices):
                result = 0
                for p in prices
                    result += p
                return result
        """),
        "SyntaxError: expected ':'",
        "assert total([1, 2, 3]) == 6\nassert total([]) == 0\n",
    ),
    (
        "syntax_unclosed_paren",
        d("""
            def greet(name):
                return "Hello, " + name.title(

            print(greet("ada"))
        """),
        "SyntaxError: '(' was never closed",
        'assert greet("ada lovelace") == "Hello, Ada Lovelace"\n',
    ),
    (
        "syntax_unterminated_string",
        d("""
            def shout(word):
                return word.upper() + "!
        """),
        "SyntaxError: unterminated string literal (detected at line 2)",
        'assert shout("hey") == "HEY!"\n',
    ),
    (
        "syntax_python2_print",
        d("""
            def report(count):
                print "found", count
                return count * 2
        """),
        "SyntaxError: Missing parentheses in call to 'print'. Did you mean print(...)?",
        "assert report(4) == 8\n",
    ),
    (
        "syntax_unexpected_indent",
        d("""
            def double_all(values):
                out = []
                for v in values:
                    out.append(v * 2)
                  return out
        """),
        "IndentationError: unindent does not match any outer indentation level",
        "assert double_all([1, 2]) == [2, 4]\nassert double_all([]) == []\n",
    ),
    (
        "syntax_assignment_in_if",
        d("""
            def is_answer(n):
                if n = 42:
                    return True
                return False
        """),
        "SyntaxError: invalid syntax. Maybe you meant '==' or ':=' instead of '='?",
        "assert is_answer(42) is True\nassert is_answer(41) is False\n",
    ),
    (
        "syntax_missing_comma_in_list",
        d("""
            COLOURS = ["red", "green" "blue"]

            def colour_count():
                return len(COLOURS)
        """),
        "",
        'assert colour_count() == 3\nassert "blue" in COLOURS\n',
    ),
    (
        # The colon is what the error names; the sign is a second bug that only the test sees.
        "syntax_fixed_logic_remains",
        d('''
            def add(a, b)
                """Add two numbers.

                >>> add(2, 3)
                5
                """
                return a - b
        '''),
        "SyntaxError: expected ':'",
        "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n",
    ),
    # -- names -----------------------------------------------------------------------------
    (
        "name_misspelled_variable",
        d("""
            def average(numbers):
                total = sum(numbers)
                return totl / len(numbers)

            print(average([2, 4]))
        """),
        "NameError: name 'totl' is not defined. Did you mean: 'total'?",
        "assert average([2, 4]) == 3\nassert average([5]) == 5\n",
    ),
    (
        "name_misspelled_builtin",
        d("""
            def longest(words):
                return max(words, key=lenght)

            print(longest(["a", "abc", "ab"]))
        """),
        "NameError: name 'lenght' is not defined",
        'assert longest(["a", "abc", "ab"]) == "abc"\n',
    ),
    (
        "name_true_lowercase",
        d("""
            def all_positive(values):
                for v in values:
                    if v <= 0:
                        return false
                return true

            print(all_positive([1, 2]))
        """),
        "NameError: name 'true' is not defined",
        "assert all_positive([1, 2]) is True\nassert all_positive([1, -2]) is False\n",
    ),
    (
        "name_method_misspelled",
        d("""
            def tidy(text):
                return text.strp().lower()

            print(tidy("  Hi  "))
        """),
        "AttributeError: 'str' object has no attribute 'strp'. Did you mean: 'strip'?",
        'assert tidy("  Hi  ") == "hi"\nassert tidy("OK") == "ok"\n',
    ),
    # -- imports ---------------------------------------------------------------------------
    (
        "import_missing_math",
        d("""
            def hypotenuse(a, b):
                return math.sqrt(a * a + b * b)

            print(hypotenuse(3, 4))
        """),
        "NameError: name 'math' is not defined",
        "assert hypotenuse(3, 4) == 5\nassert hypotenuse(5, 12) == 13\n",
    ),
    (
        "import_missing_json",
        d("""
            def encode(data):
                return json.dumps(data, sort_keys=True)

            print(encode({"b": 1, "a": 2}))
        """),
        "NameError: name 'json' is not defined. Did you forget to import 'json'?",
        'assert encode({"b": 1, "a": 2}) == \'{"a": 2, "b": 1}\'\n',
    ),
    (
        "import_missing_from_collections",
        d("""
            def tally(words):
                return Counter(words).most_common(1)[0][0]

            print(tally(["a", "b", "a"]))
        """),
        "NameError: name 'Counter' is not defined",
        'assert tally(["a", "b", "a"]) == "a"\nassert tally(["x"]) == "x"\n',
    ),
    (
        "import_misspelled_module",
        d("""
            import ramdon

            def pick(items, seed):
                ramdon.seed(seed)
                return ramdon.choice(items)

            print(pick([1, 2, 3], 0))
        """),
        "ModuleNotFoundError: No module named 'ramdon'",
        "assert pick([7], 1) == 7\nassert pick([1, 2, 3], 0) in (1, 2, 3)\n",
    ),
    # -- types -----------------------------------------------------------------------------
    (
        "type_str_plus_int",
        d("""
            def label(name, age):
                return name + " is " + age + " years old"

            print(label("Ann", 30))
        """),
        'TypeError: can only concatenate str (not "int") to str',
        'assert label("Ann", 30) == "Ann is 30 years old"\n',
    ),
    (
        "type_input_number_not_converted",
        d("""
            def next_year(age_text):
                return age_text + 1

            print(next_year("41"))
        """),
        'TypeError: can only concatenate str (not "int") to str',
        'assert next_year("41") == 42\nassert next_year("0") == 1\n',
    ),
    (
        "type_join_numbers",
        d("""
            def csv_line(numbers):
                return ",".join(numbers)

            print(csv_line([1, 2, 3]))
        """),
        "TypeError: sequence item 0: expected str instance, int found",
        'assert csv_line([1, 2, 3]) == "1,2,3"\nassert csv_line([]) == ""\n',
    ),
    (
        "type_none_from_sort",
        d("""
            def smallest_three(values):
                ordered = values.sort()
                return ordered[:3]

            print(smallest_three([5, 1, 4, 2]))
        """),
        "TypeError: 'NoneType' object is not subscriptable",
        "assert smallest_three([5, 1, 4, 2]) == [1, 2, 4]\nassert smallest_three([9]) == [9]\n",
    ),
    (
        "type_missing_self",
        d("""
            class Counter:
                def __init__(self):
                    self.count = 0

                def increment():
                    self.count += 1

            c = Counter()
            c.increment()
        """),
        "TypeError: Counter.increment() takes 0 positional arguments but 1 was given",
        "c2 = Counter()\nc2.increment()\nc2.increment()\nassert c2.count == 2\n",
    ),
    (
        "type_tuple_append",
        d("""
            def with_zero():
                values = (1, 2)
                values.append(0)
                return values
        """),
        "AttributeError: 'tuple' object has no attribute 'append'",
        "assert list(with_zero()) == [1, 2, 0]\n",
    ),
    # -- off by one and other logic ----------------------------------------------------------
    (
        "logic_index_len",
        d("""
            def last(items):
                return items[len(items)]

            print(last([1, 2, 3]))
        """),
        "IndexError: list index out of range",
        'assert last([1, 2, 3]) == 3\nassert last(["x"]) == "x"\n',
    ),
    (
        "logic_range_plus_one",
        d("""
            def squares(values):
                out = []
                for i in range(len(values) + 1):
                    out.append(values[i] ** 2)
                return out

            print(squares([1, 2, 3]))
        """),
        "IndexError: list index out of range",
        "assert squares([1, 2, 3]) == [1, 4, 9]\nassert squares([]) == []\n",
    ),
    (
        "logic_while_lte",
        d("""
            def reverse(values):
                out = []
                i = 1
                while i <= len(values):
                    out.append(values[-i])
                    i += 1
                return out

            def total(values):
                i = 0
                s = 0
                while i <= len(values):
                    s += values[i]
                    i += 1
                return s

            print(total([1, 2, 3]))
        """),
        "IndexError: list index out of range",
        "assert total([1, 2, 3]) == 6\nassert total([]) == 0\nassert reverse([1, 2]) == [2, 1]\n",
    ),
    (
        "logic_next_item",
        d("""
            def rises(values):
                count = 0
                for i in range(len(values)):
                    if values[i + 1] > values[i]:
                        count += 1
                return count

            print(rises([1, 3, 2, 5]))
        """),
        "IndexError: list index out of range",
        "assert rises([1, 3, 2, 5]) == 2\nassert rises([3, 2, 1]) == 0\nassert rises([]) == 0\n",
    ),
    (
        "logic_average_of_empty",
        d("""
            def mean(values):
                return sum(values) / len(values)

            print(mean([]))
        """),
        "ZeroDivisionError: division by zero",
        "assert mean([2, 4]) == 3\nassert mean([]) == 0\n",
    ),
    # -- runtime errors ----------------------------------------------------------------------
    (
        "runtime_key_case",
        d("""
            PHONES = {"Ann": "555-1234", "Bob": "555-9876"}

            def phone_of(name):
                return PHONES[name]

            print(phone_of("ann"))
        """),
        "KeyError: 'ann'",
        'assert phone_of("Bob") == "555-9876"\n',
    ),
    (
        "runtime_count_words",
        d("""
            def word_counts(text):
                counts = {}
                for word in text.split():
                    counts[word] += 1
                return counts

            print(word_counts("a b a"))
        """),
        "KeyError: 'a'",
        'assert word_counts("a b a") == {"a": 2, "b": 1}\nassert word_counts("") == {}\n',
    ),
    (
        "runtime_int_of_decimal_text",
        d("""
            def parse_price(text):
                return int(text)

            print(parse_price("3.50"))
        """),
        "ValueError: invalid literal for int() with base 10: '3.50'",
        'assert parse_price("3.50") == 3.5\nassert parse_price("2") == 2\n',
    ),
    (
        "runtime_dict_changed_while_iterating",
        d("""
            def drop_empty(d):
                for key in d:
                    if not d[key]:
                        del d[key]
                return d

            print(drop_empty({"a": 1, "b": 0}))
        """),
        "RuntimeError: dictionary changed size during iteration",
        'assert drop_empty({"a": 1, "b": 0, "c": ""}) == {"a": 1}\n',
    ),
    (
        "runtime_recursion_no_base_case",
        d("""
            def factorial(n):
                return n * factorial(n - 1)

            print(factorial(5))
        """),
        "RecursionError: maximum recursion depth exceeded",
        "assert factorial(5) == 120\nassert factorial(1) == 1\nassert factorial(0) == 1\n",
    ),
    (
        "runtime_list_remove_missing",
        d("""
            def without(items, unwanted):
                items = list(items)
                items.remove(unwanted)
                return items

            print(without([1, 2], 3))
        """),
        "ValueError: list.remove(x): x not in list",
        "assert without([1, 2], 3) == [1, 2]\nassert without([1, 2, 3], 2) == [1, 3]\n",
    ),
    (
        "runtime_unpack_split",
        d("""
            def parse_pair(line):
                key, value = line.split("=")
                return key.strip(), value.strip()

            print(parse_pair("url = http://x?a=b"))
        """),
        "ValueError: too many values to unpack (expected 2)",
        'assert parse_pair("url = http://x?a=b") == ("url", "http://x?a=b")\n'
        'assert parse_pair("a=1") == ("a", "1")\n',
    ),
    (
        "runtime_none_returned",
        d("""
            def shout(text):
                text.upper() + "!"

            print(shout("hi").strip())
        """),
        "AttributeError: 'NoneType' object has no attribute 'strip'",
        'assert shout("hi") == "HI!"\n',
    ),
]


def main() -> None:
    out = Path(__file__).with_name("python.jsonl")
    with out.open("w", encoding="utf-8") as f:
        for task_id, code, error, test in TASKS:
            task = {"id": task_id, "code": code, "test": test, "language": "python"}
            if error:
                task["error"] = error
            f.write(json.dumps(task) + "\n")
    print(f"{len(TASKS)} tasks written to {out}")


if __name__ == "__main__":
    main()
