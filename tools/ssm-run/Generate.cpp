// ssm-run generate: greedy generation from a model artifact (ssmc
// <checkpoint dir>) with a checkpoint's weights: the prompt through
// prefill, then one decode step per new token, each the argmax of the
// last position's logits. Prints the ids, the time to first token and the
// decode rate, with a progress line on stderr while a long run goes on.
// Runtime only: no compiler needed.

#include "RunSupport.h"

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace ssm::run {

namespace {

/// "1,2,3" as ids, each in [0, vocab); an empty list is bad input.
std::vector<int64_t> parseIds(const std::string &text, int64_t vocab) {
  std::vector<int64_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(
        start, comma == std::string::npos ? std::string::npos : comma - start);
    ids.push_back(parseCount("prompt-ids", item, 0));
    if (ids.back() >= vocab)
      fail(kExitBadInput,
           "ssm-run generate: --prompt-ids holds id {}, outside the "
           "vocabulary [0, {})",
           item, vocab);
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  return ids;
}

} // namespace

int commandGenerate(const std::vector<std::string> &args) {
  Arguments arguments = parseArguments(
      "generate", args,
      {{"weights", true}, {"prompt-ids", true}, {"max-new-tokens", true},
       {"target", true}, {"verbose", false}});
  if (arguments.positional.size() != 1)
    usageError("ssm-run generate: expected one artifact directory, got {} "
               "arguments",
               arguments.positional.size());
  if (!arguments.has("weights") || !arguments.has("prompt-ids") ||
      !arguments.has("max-new-tokens"))
    usageError("ssm-run generate: --weights=DIR, --prompt-ids=ID,ID,... and "
               "--max-new-tokens=N are required");
  if (arguments.value("prompt-ids").empty())
    fail(kExitBadInput, "ssm-run generate: --prompt-ids is an empty prompt");
  int64_t newTokens =
      parseCount("max-new-tokens", arguments.value("max-new-tokens"), 1);
  Model model = loadModel(arguments.positional[0], arguments.value("weights"),
                          arguments.value("target"));
  int64_t vocab = model.vocabSize();
  std::vector<int64_t> prompt = parseIds(arguments.value("prompt-ids"), vocab);
  size_t promptLength = prompt.size();

  // The time to the first token is the prefill's (and its argmax); the
  // decode rate counts the steps after it.
  Session session(model);
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
  };
  Clock::time_point start = Clock::now(), first = start, lastReport = start;
  bool reported = false;
  std::vector<int64_t> generated;
  try {
    generated = session.generate(
        prompt, 1, newTokens, [&](int64_t step, const int64_t *) {
          Clock::time_point now = Clock::now();
          if (step == 0)
            first = lastReport = now;
          else if (seconds(lastReport, now) >= 1.0) {
            fmt::print(stderr,
                       "\rssm-run generate: {}/{} tokens, {:.1f} tokens/s",
                       step + 1, newTokens, step / seconds(first, now));
            lastReport = now;
            reported = true;
          }
          return false;
        });
  } catch (const Error &error) {
    fail(kExitBadInput, error.what());
  }
  Clock::time_point end = Clock::now();
  if (reported)
    fmt::print(stderr, "\n");
  double firstMs = seconds(start, first) * 1e3, decodeSeconds = seconds(first, end);
  std::vector<int64_t> sequence = prompt;
  sequence.insert(sequence.end(), generated.begin(), generated.end());

  fmt::print("generated: {}\n",
             fmt::join(sequence.begin() + promptLength, sequence.end(), ","));
  fmt::print("time to first token: {:.2f} ms ({}-token prompt, {:.1f} "
             "tokens/s)\n",
             firstMs, promptLength, promptLength / (firstMs / 1e3));
  if (newTokens > 1)
    fmt::print("decode: {} tokens in {:.2f} ms, {:.1f} tokens/s\n",
               newTokens - 1, decodeSeconds * 1e3,
               (newTokens - 1) / decodeSeconds);
  return kExitOk;
}

} // namespace ssm::run
