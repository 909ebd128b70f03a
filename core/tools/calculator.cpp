// Recursive-descent arithmetic (see calculator.h).
#include "tools/calculator.h"

#include <cctype>
#include <cmath>
#include <map>
#include <numbers>
#include <string>
#include <vector>

namespace kanana::tools {
namespace {

constexpr size_t kMaxLength = 2000;
constexpr int kMaxDepth = 100;

struct Function {
  int min_args, max_args;  // max -1: any number
  // Returns an error message ("" = fine) through *error for domain problems.
  double (*apply)(const std::vector<double>& a, std::string* error);
};

const std::map<std::string, Function, std::less<>>& functions() {
  using V = const std::vector<double>&;
  static const std::map<std::string, Function, std::less<>> f = {
      {"sqrt", {1, 1, [](V a, std::string* e) { if (a[0] < 0) *e = "sqrt of a negative number"; return std::sqrt(a[0]); }}},
      {"cbrt", {1, 1, [](V a, std::string*) { return std::cbrt(a[0]); }}},
      {"abs", {1, 1, [](V a, std::string*) { return std::fabs(a[0]); }}},
      {"exp", {1, 1, [](V a, std::string*) { return std::exp(a[0]); }}},
      {"ln", {1, 1, [](V a, std::string* e) { if (a[0] <= 0) *e = "log of a number <= 0"; return std::log(a[0]); }}},
      {"log", {1, 2, [](V a, std::string* e) {
         if (a[0] <= 0) *e = "log of a number <= 0";
         if (a.size() == 2 && (a[1] <= 0 || a[1] == 1)) *e = "log base must be > 0 and not 1";
         return a.size() == 2 ? std::log(a[0]) / std::log(a[1]) : std::log(a[0]);
       }}},
      {"log2", {1, 1, [](V a, std::string* e) { if (a[0] <= 0) *e = "log of a number <= 0"; return std::log2(a[0]); }}},
      {"log10", {1, 1, [](V a, std::string* e) { if (a[0] <= 0) *e = "log of a number <= 0"; return std::log10(a[0]); }}},
      {"sin", {1, 1, [](V a, std::string*) { return std::sin(a[0]); }}},
      {"cos", {1, 1, [](V a, std::string*) { return std::cos(a[0]); }}},
      {"tan", {1, 1, [](V a, std::string*) { return std::tan(a[0]); }}},
      {"asin", {1, 1, [](V a, std::string* e) { if (std::fabs(a[0]) > 1) *e = "asin outside [-1, 1]"; return std::asin(a[0]); }}},
      {"acos", {1, 1, [](V a, std::string* e) { if (std::fabs(a[0]) > 1) *e = "acos outside [-1, 1]"; return std::acos(a[0]); }}},
      {"atan", {1, 1, [](V a, std::string*) { return std::atan(a[0]); }}},
      {"atan2", {2, 2, [](V a, std::string*) { return std::atan2(a[0], a[1]); }}},
      {"sinh", {1, 1, [](V a, std::string*) { return std::sinh(a[0]); }}},
      {"cosh", {1, 1, [](V a, std::string*) { return std::cosh(a[0]); }}},
      {"tanh", {1, 1, [](V a, std::string*) { return std::tanh(a[0]); }}},
      {"floor", {1, 1, [](V a, std::string*) { return std::floor(a[0]); }}},
      {"ceil", {1, 1, [](V a, std::string*) { return std::ceil(a[0]); }}},
      {"round", {1, 1, [](V a, std::string*) { return std::round(a[0]); }}},
      {"trunc", {1, 1, [](V a, std::string*) { return std::trunc(a[0]); }}},
      {"min", {1, -1, [](V a, std::string*) { double m = a[0]; for (double x : a) m = std::min(m, x); return m; }}},
      {"max", {1, -1, [](V a, std::string*) { double m = a[0]; for (double x : a) m = std::max(m, x); return m; }}},
      {"pow", {2, 2, [](V a, std::string*) { return std::pow(a[0], a[1]); }}},
      {"hypot", {2, 2, [](V a, std::string*) { return std::hypot(a[0], a[1]); }}},
  };
  return f;
}

const std::map<std::string, double, std::less<>>& constants() {
  static const std::map<std::string, double, std::less<>> c = {
      {"pi", std::numbers::pi}, {"e", std::numbers::e}, {"tau", 2 * std::numbers::pi}};
  return c;
}

class Evaluator {
 public:
  explicit Evaluator(std::string_view s) : s_(s) {}

  Result<double> run() {
    skip();
    if (pos_ >= s_.size()) return fail("the expression is empty", 0);
    KANANA_ASSIGN_OR_RETURN(double v, sum());
    skip();
    if (pos_ < s_.size()) return unexpected();
    if (!std::isfinite(v)) return invalid_argument("the result is not a finite number (overflow or undefined)");
    return v;
  }

 private:
  Status fail(const std::string& what, size_t at) const {
    return invalid_argument(what + " at position " + std::to_string(at + 1));
  }
  Status unexpected() const {
    if (pos_ >= s_.size()) return fail("unexpected end of expression", pos_);
    std::string c(1, s_[pos_]);
    // Show a whole UTF-8 character.
    for (size_t k = pos_ + 1; k < s_.size() && (static_cast<unsigned char>(s_[k]) & 0xC0) == 0x80; ++k) c += s_[k];
    return fail("unexpected '" + c + "'", pos_);
  }
  void skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool eat(char c) {
    skip();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool peek_pow() {
    skip();
    if (pos_ < s_.size() && s_[pos_] == '^') return ++pos_, true;
    if (pos_ + 1 < s_.size() && s_[pos_] == '*' && s_[pos_ + 1] == '*') return pos_ += 2, true;
    return false;
  }

  Result<double> sum() {
    KANANA_ASSIGN_OR_RETURN(double v, product());
    while (true) {
      skip();
      if (pos_ >= s_.size() || (s_[pos_] != '+' && s_[pos_] != '-')) return v;
      const char op = s_[pos_++];
      KANANA_ASSIGN_OR_RETURN(double r, product());
      v = op == '+' ? v + r : v - r;
    }
  }

  Result<double> product() {
    KANANA_ASSIGN_OR_RETURN(double v, unary());
    while (true) {
      skip();
      if (pos_ >= s_.size()) return v;
      const char op = s_[pos_];
      if (op != '*' && op != '/' && op != '%') return v;
      if (op == '*' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '*') return v;  // '**' is power
      const size_t at = pos_++;
      KANANA_ASSIGN_OR_RETURN(double r, unary());
      if ((op == '/' || op == '%') && r == 0) return fail(op == '/' ? "division by zero" : "modulo by zero", at);
      v = op == '*' ? v * r : op == '/' ? v / r : std::fmod(v, r);
    }
  }

  Result<double> unary() {
    skip();
    if (pos_ < s_.size() && (s_[pos_] == '-' || s_[pos_] == '+')) {
      const bool neg = s_[pos_++] == '-';
      if (++depth_ > kMaxDepth) return fail("expression nested too deeply", pos_);
      KANANA_ASSIGN_OR_RETURN(double v, unary());
      --depth_;
      return neg ? -v : v;
    }
    return power();
  }

  Result<double> power() {
    KANANA_ASSIGN_OR_RETURN(double base, primary());
    skip();
    const size_t at = pos_;
    if (!peek_pow()) return base;
    if (++depth_ > kMaxDepth) return fail("expression nested too deeply", pos_);
    KANANA_ASSIGN_OR_RETURN(double exponent, unary());
    --depth_;
    if (base == 0 && exponent < 0) return fail("zero to a negative power", at);
    if (base < 0 && std::floor(exponent) != exponent) return fail("negative number to a fractional power", at);
    return std::pow(base, exponent);
  }

  Result<double> primary() {
    skip();
    if (pos_ >= s_.size()) return unexpected();
    const size_t start = pos_;
    const char c = s_[pos_];
    if (c == '(') {
      ++pos_;
      if (++depth_ > kMaxDepth) return fail("expression nested too deeply", start);
      KANANA_ASSIGN_OR_RETURN(double v, sum());
      --depth_;
      if (!eat(')')) return pos_ >= s_.size() ? fail("missing ')' for the '(' opened", start) : unexpected();
      return v;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') return number();
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) ++pos_;
      const std::string name = to_lower(s_.substr(start, pos_ - start));
      skip();
      if (pos_ < s_.size() && s_[pos_] == '(') return call(name, start);
      if (auto it = constants().find(name); it != constants().end()) return it->second;
      if (functions().count(name)) return fail("function '" + name + "' needs '(' and its arguments", start);
      return fail("unknown name '" + name + "' (constants: pi, e, tau)", start);
    }
    return unexpected();
  }

  Result<double> call(const std::string& name, size_t start) {
    auto it = functions().find(name);
    if (it == functions().end()) return fail("unknown function '" + name + "'", start);
    ++pos_;  // '('
    if (++depth_ > kMaxDepth) return fail("expression nested too deeply", start);
    std::vector<double> args;
    skip();
    if (pos_ < s_.size() && s_[pos_] == ')') {
      ++pos_;
    } else {
      while (true) {
        KANANA_ASSIGN_OR_RETURN(double a, sum());
        args.push_back(a);
        if (eat(',')) continue;
        if (eat(')')) break;
        return pos_ >= s_.size() ? fail("missing ')' for " + name + "(", start) : unexpected();
      }
    }
    --depth_;
    const Function& f = it->second;
    if (static_cast<int>(args.size()) < f.min_args || (f.max_args >= 0 && static_cast<int>(args.size()) > f.max_args)) {
      std::string want = f.max_args < 0 ? "at least " + std::to_string(f.min_args)
                         : f.min_args == f.max_args ? std::to_string(f.min_args)
                                                    : std::to_string(f.min_args) + " or " + std::to_string(f.max_args);
      return fail(name + "() takes " + want + " argument(s), got " + std::to_string(args.size()), start);
    }
    std::string error;
    const double v = f.apply(args, &error);
    if (!error.empty()) return fail(error, start);
    return v;
  }

  Result<double> number() {
    const size_t start = pos_;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    if (pos_ - start == 1 && s_[start] == '.') return fail("a number needs digits", start);
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      size_t p = pos_ + 1;
      if (p < s_.size() && (s_[p] == '+' || s_[p] == '-')) ++p;
      // "2e" followed by a non-digit is 2 then the constant e, which is an error later anyway;
      // only consume the exponent when digits follow.
      if (p < s_.size() && std::isdigit(static_cast<unsigned char>(s_[p]))) {
        pos_ = p;
        while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
      }
    }
    const std::string text(s_.substr(start, pos_ - start));
    const double v = std::strtod(text.c_str(), nullptr);
    if (!std::isfinite(v)) return fail("number too large", start);
    return v;
  }

  static std::string to_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  }

  std::string_view s_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Result<double> evaluate_expression(std::string_view expression) {
  if (expression.size() > kMaxLength)
    return invalid_argument("the expression is longer than " + std::to_string(kMaxLength) + " characters");
  return Evaluator(expression).run();
}

Tool make_calculator_tool() {
  Tool t;
  t.spec.name = "calculator";
  t.spec.description =
      "Evaluate an arithmetic expression exactly as written: + - * / % ^ (power), parentheses, unary minus, "
      "functions sqrt, log (natural; log(x, base)), log10, log2, exp, sin, cos, tan (radians), abs, min, max, "
      "round, floor, ceil, and the constants pi and e. Use it for any arithmetic instead of computing in your head.";
  t.spec.parameters = {
      {"type", "object"},
      {"properties",
       {{"expression", {{"type", "string"}, {"description", "for example \"(3 + 4) * 2 ^ 3\" or \"sqrt(2) * pi\""},
                        {"minLength", 1}, {"maxLength", static_cast<int64_t>(kMaxLength)}}}}},
      {"required", {"expression"}},
      {"additionalProperties", false}};
  t.run = [](const Json& args, const ToolContext&) -> Result<Json> {
    const std::string expr = args["expression"].get<std::string>();
    KANANA_ASSIGN_OR_RETURN(double v, evaluate_expression(expr));
    Json result = v;
    // Integers read as integers ("8", not "8.0") while they are exact in a double.
    if (std::floor(v) == v && std::fabs(v) < 9007199254740992.0) result = static_cast<int64_t>(v);
    return Json{{"expression", expr}, {"result", result}};
  };
  return t;
}

}  // namespace kanana::tools
