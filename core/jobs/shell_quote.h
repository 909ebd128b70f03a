// POSIX shell quoting for commands that cross a shell: the remote command of `ssh host CMD`
// (ssh joins its arguments with spaces and hands the string to the remote login shell) and
// the generated supervisor and sbatch scripts. Every argument becomes one single-quoted word,
// so spaces, quotes, $(...), backquotes, ';', '|', newlines and UTF-8 (Korean) pass through
// byte for byte and nothing is expanded.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kanana::jobs {

// 'abc' → abc stays readable when it has only safe characters; otherwise '...' with every
// ' written as '\''. The empty string becomes ''.
std::string shell_quote(std::string_view arg);
// Quote each argument and join with spaces.
std::string shell_join(const std::vector<std::string>& argv);

}  // namespace kanana::jobs
