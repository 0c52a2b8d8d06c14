"""Reading formula text into a checked syntax tree: the sandbox's front door.

The text is Python expression syntax, with three spreadsheet habits accepted:
a leading ``=``, ``=`` for comparison and ``<>`` for "not equal". Only the
node types in ``ALLOWED`` pass; everything else (attribute access outside field
paths, subscripts, lambdas, comprehensions, assignments, f-strings, dunder
names) is refused here, before anything is evaluated, with the position and a
reason a business user can act on.
"""

from __future__ import annotations

import ast
import io
import tokenize
import warnings
from dataclasses import dataclass, field

from engine.core.i18n import Label
from engine.expr.errors import FormulaError
from engine.expr.limits import MAX_FORMULA_LENGTH, MAX_LIST_LITERAL, MAX_NESTING

ALLOWED: frozenset[type[ast.AST]] = frozenset({
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.Add, ast.Sub, ast.Mult,
    ast.Div, ast.Mod, ast.Pow, ast.BitAnd, ast.UnaryOp, ast.USub, ast.UAdd, ast.Not,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn,
    ast.Call, ast.Name, ast.Load, ast.Attribute, ast.Constant, ast.List, ast.Tuple, ast.IfExp,
})

# Why a node is refused, for the ones people actually try.
_REFUSALS: dict[type[ast.AST], tuple[str, str]] = {
    ast.Lambda: ("不支持 lambda", "lambda is not allowed"),
    ast.ListComp: ("不支持推导式", "comprehensions are not allowed"),
    ast.SetComp: ("不支持推导式", "comprehensions are not allowed"),
    ast.DictComp: ("不支持推导式", "comprehensions are not allowed"),
    ast.GeneratorExp: ("不支持推导式", "comprehensions are not allowed"),
    ast.NamedExpr: ("公式里不能赋值", "assignments are not allowed in a formula"),
    ast.Subscript: ("不支持下标 [ ]，请用 LEFT/MID/RIGHT 或 SPLIT", "indexing with [ ] is not supported; use LEFT/MID/RIGHT or SPLIT"),
    ast.JoinedStr: ("不支持 f 字符串，请用 CONCAT 或 &", "f-strings are not supported; use CONCAT or &"),
    ast.FloorDiv: ("不支持 //，请用 INT(a / b)", "// is not supported; use INT(a / b)"),
    ast.Is: ("不支持 is，请用 == 或 ISBLANK()", "'is' is not supported; use == or ISBLANK()"),
    ast.IsNot: ("不支持 is not，请用 != 或 NOT(ISBLANK())", "'is not' is not supported; use != or NOT(ISBLANK())"),
    ast.Dict: ("不支持字典", "dictionaries are not supported"),
    ast.Set: ("不支持集合，请用列表 [ ]", "sets are not supported; use a list [ ]"),
    ast.Starred: ("不支持 * 展开", "* unpacking is not supported"),
    ast.Await: ("不支持 await", "await is not allowed"),
    ast.Yield: ("不支持 yield", "yield is not allowed"),
    ast.BitOr: ("不支持 |，请用 or", "| is not supported; use or"),
    ast.BitXor: ("不支持 ^，乘方请用 ** 或 POWER()", "^ is not supported; for powers use ** or POWER()"),
    ast.Invert: ("不支持 ~", "~ is not supported"),
    ast.LShift: ("不支持 <<", "<< is not supported"),
    ast.RShift: ("不支持 >>", ">> is not supported"),
    ast.MatMult: ("不支持 @", "@ is not supported"),
}


@dataclass
class Source:
    """Formula text as written and as parsed, with what is needed to point at a node.

    ``origin[i]`` is the index in ``text`` of character ``i`` of ``parsed_text``
    (the two differ where spreadsheet habits were rewritten).
    """

    text: str
    parsed_text: str
    origin: list[int] = field(default_factory=list)

    def locate(self, parsed_index: int) -> tuple[int, int]:
        """The 1-based (line, column) in the original text of a parsed character."""
        if not self.origin:
            index = 0
        elif parsed_index >= len(self.origin):
            index = self.origin[-1] + 1
        else:
            index = self.origin[max(parsed_index, 0)]
        before = self.text[:index]
        line = before.count("\n") + 1
        return line, index - (before.rfind("\n") + 1) + 1

    def parsed_index(self, line: int, char_col: int) -> int:
        lines = self.parsed_text.split("\n")
        return sum(len(text) + 1 for text in lines[: line - 1]) + char_col

    def char_column(self, line: int, byte_col: int) -> int:
        lines = self.parsed_text.split("\n")
        line_text = lines[line - 1] if 0 < line <= len(lines) else ""
        return len(line_text.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))

    def position(self, node: ast.AST) -> tuple[int, int, str]:
        """The 1-based (line, character column) in the original text and the node's text."""
        line = getattr(node, "lineno", 1)
        col = self.char_column(line, getattr(node, "col_offset", 0))
        orig_line, orig_col = self.locate(self.parsed_index(line, col))
        fragment = ast.get_source_segment(self.parsed_text, node) or ""
        return orig_line, orig_col, fragment

    def error(self, node: ast.AST, message: Label) -> FormulaError:
        line, column, fragment = self.position(node)
        return FormulaError(message, text=self.text, line=line, column=column, fragment=fragment)


def parse(text: str) -> tuple[ast.Expression, Source]:
    """Parse and check a formula; raise ``FormulaError`` for anything not allowed."""
    if not isinstance(text, str):
        raise FormulaError(Label("公式必须是文本", "A formula must be text"))
    if len(text) > MAX_FORMULA_LENGTH:
        raise FormulaError(
            Label(
                f"公式太长（{len(text)} 个字符，最多 {MAX_FORMULA_LENGTH}）",
                f"The formula is too long ({len(text)} characters; at most {MAX_FORMULA_LENGTH})",
            ),
            text=text,
        )
    source = _rewrite(text)
    if not source.parsed_text:
        raise FormulaError(Label("公式是空的", "The formula is empty"), text=text)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "invalid decimal literal" and the like
            tree = ast.parse(source.parsed_text, mode="eval")
    except SyntaxError as exc:
        raise _syntax_error(source, exc) from None
    except (RecursionError, MemoryError, ValueError, OverflowError):
        raise FormulaError(
            Label("公式嵌套太深或太复杂", "The formula is nested too deeply or is too complex"),
            text=text,
        ) from None
    _check(tree, source)
    return tree, source


def _rewrite(text: str) -> Source:
    """Accept ``=x``, ``a = b`` and ``a <> b`` from spreadsheet habit and line
    breaks anywhere; drop surrounding white space (Python's eval mode refuses
    a leading indent)."""
    line_starts = [0]
    for line in text.split("\n")[:-1]:
        line_starts.append(line_starts[-1] + len(line) + 1)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        tokens = []
    significant = [
        t for t in tokens if t.type in (tokenize.OP, tokenize.NAME, tokenize.NUMBER, tokenize.STRING)
    ]
    edits: list[tuple[int, int, str]] = []  # start, end (absolute), replacement
    for token in tokens:
        # A formula may span lines, as in a spreadsheet's formula bar: line
        # breaks between tokens are spaces (positions still map to the text).
        if token.type in (tokenize.NL, tokenize.NEWLINE) and token.string:
            start = line_starts[token.start[0] - 1] + token.start[1]
            edits.append((start, start + len(token.string), " " * len(token.string)))
    for index, token in enumerate(significant):
        if token.type == tokenize.NAME:
            if _is_keyword_call(significant, index):
                start = line_starts[token.start[0] - 1] + token.start[1]
                edits.append((start, start + len(token.string), token.string.upper()))
            continue
        if token.type != tokenize.OP:
            continue
        start = line_starts[token.start[0] - 1] + token.start[1]
        end = line_starts[token.end[0] - 1] + token.end[1]
        if token.string == "=":
            edits.append((start, end, "" if index == 0 else "=="))
        elif token.string == "<" and index + 1 < len(significant):
            after = significant[index + 1]
            if after.string == ">" and after.start == token.end:
                edits.append((start, end + 1, "!="))
    parts: list[str] = []
    origin: list[int] = []
    cursor = 0
    for start, end, replacement in sorted(edits):
        parts.append(text[cursor:start])
        origin.extend(range(cursor, start))
        parts.append(replacement)
        origin.extend([start] * len(replacement))
        cursor = end
    parts.append(text[cursor:])
    origin.extend(range(cursor, len(text)))
    parsed = "".join(parts)
    lead = len(parsed) - len(parsed.lstrip())
    stripped = parsed.strip()
    return Source(text, stripped, origin[lead : lead + len(stripped)])


_KEYWORD_FUNCTIONS = frozenset({"if", "and", "or", "not"})
_OPERATOR_WORDS = frozenset({"and", "or", "not", "if", "else", "in", "is"})


def _is_keyword_call(tokens: list[tokenize.TokenInfo], index: int) -> bool:
    """``if(...)``, ``and(...)``: a function written in lower case that Python
    reads as a keyword. It is a call when ``(`` follows at once and nothing
    before it is an operand (``x and(y)`` stays the operator)."""
    token = tokens[index]
    if token.string not in _KEYWORD_FUNCTIONS or index + 1 >= len(tokens):
        return False
    after = tokens[index + 1]
    if after.string != "(" or after.start != token.end:
        return False
    if index == 0:
        return True
    before = tokens[index - 1]
    if before.type == tokenize.OP:
        return before.string not in (")", "]")
    return before.type == tokenize.NAME and before.string in _OPERATOR_WORDS


def _syntax_error(source: Source, exc: SyntaxError) -> FormulaError:
    parsed_line = exc.lineno or 1
    char_col = source.char_column(parsed_line, max((exc.offset or 1) - 1, 0))
    line, column = source.locate(source.parsed_index(parsed_line, char_col))
    original_lines = source.text.split("\n")
    original = original_lines[line - 1] if line - 1 < len(original_lines) else ""
    fragment = original[column - 1 : column + 9].strip() or None
    reason = (exc.msg or "invalid syntax").split(" (")[0]
    if "was never closed" in reason or "unexpected EOF" in reason:
        message = Label("括号或引号没有闭合", "A bracket or quote is not closed")
    elif "unterminated" in reason:
        message = Label("字符串的引号没有闭合", "A text value is missing its closing quote")
    elif "too many nested parentheses" in reason:
        message = Label("括号嵌套太深", "Brackets are nested too deeply")
    elif "unmatched" in reason or "does not match" in reason:
        message = Label("括号不配对", "Brackets do not match")
    else:
        message = Label(f"公式写法有误（{reason}）", f"The formula cannot be read ({reason})")
    return FormulaError(message, text=source.text, line=line, column=column, fragment=fragment)


def _check(tree: ast.Expression, source: Source) -> None:
    """Walk the tree once: allowed nodes only, bounded depth, safe names and literals."""
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            raise source.error(
                node,
                Label(f"公式嵌套超过 {MAX_NESTING} 层", f"The formula nests deeper than {MAX_NESTING} levels"),
            )
        kind = type(node)
        if kind not in ALLOWED:
            zh, en = _REFUSALS.get(kind, (f"不支持 {kind.__name__}", f"{kind.__name__} is not allowed"))
            raise source.error(node, Label(zh, en))
        _check_node(node, source)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _check_node(node: ast.AST, source: Source) -> None:
    if isinstance(node, ast.Name) and (node.id.startswith("_") or "__" in node.id):
        raise source.error(node, Label(f"不允许的名称 {node.id}", f"The name {node.id} is not allowed"))
    if isinstance(node, ast.Attribute):
        if node.attr.startswith("_") or "__" in node.attr:
            raise source.error(node, Label(f"不允许的名称 {node.attr}", f"The name {node.attr} is not allowed"))
        base: ast.AST = node
        while isinstance(base, ast.Attribute):
            base = base.value
        if not isinstance(base, ast.Name):
            raise source.error(
                node,
                Label("“.” 只能用于字段路径，如 customer.industry",
                      "'.' is only for field paths such as customer.industry"),
            )
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise source.error(node, Label("只能调用函数，如 SUM(...)", "Only functions can be called, as in SUM(...)"))
        if node.keywords:
            raise source.error(
                node.keywords[0],
                Label("函数参数不能带名称，请按顺序填写", "Functions take no named arguments; give them in order"),
            )
    if isinstance(node, ast.Constant) and not isinstance(node.value, str | int | float | bool | type(None)):
        raise source.error(node, Label("不支持这种常量", "This kind of constant is not supported"))
    if isinstance(node, ast.List | ast.Tuple) and len(node.elts) > MAX_LIST_LITERAL:
        raise source.error(
            node, Label(f"列表最多 {MAX_LIST_LITERAL} 项", f"A list may have at most {MAX_LIST_LITERAL} items")
        )


def field_path(node: ast.AST) -> tuple[str, ...] | None:
    """``customer.industry`` -> ("customer", "industry"); None when the node is not a path."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return tuple(reversed(parts))
