// The calculator tool: a recursive-descent parser and evaluator for arithmetic expressions.
// Nothing is ever handed to a shell or an interpreter.
//
//   expression := sum
//   sum        := product (('+' | '-') product)*
//   product    := unary (('*' | '/' | '%') unary)*
//   unary      := ('-' | '+') unary | power
//   power      := primary (('^' | '**') unary)?        right-associative; -2^2 = -4, 2^-1 = 0.5
//   primary    := number | constant | function '(' expression (',' expression)* ')' | '(' expression ')'
//   number     := digits ['.' digits] [('e' | 'E') ['+' | '-'] digits]   (also ".5")
//   constant   := pi | e | tau
//   function   := sqrt cbrt abs exp ln log log2 log10 sin cos tan asin acos atan atan2 sinh cosh
//                 tanh floor ceil round trunc min max pow hypot
//                 (log(x) is natural; log(x, b) is base b; min/max take one or more arguments)
//
// Errors name the 1-based character position: "unexpected ')' at position 7", "division by
// zero at position 3", "sqrt of a negative number at position 1". Results that are not finite
// (overflow) are errors. Input is at most 2000 bytes and 100 levels of nesting.
#pragma once

#include <string_view>

#include "base/status.h"
#include "tools/tool.h"

namespace kanana::tools {

Result<double> evaluate_expression(std::string_view expression);

// {"expression": "..."} → {"expression": ..., "result": <number>}.
Tool make_calculator_tool();

}  // namespace kanana::tools
