// The corpus job pipeline: one reader thread cuts the input into batches of RawRecords,
// N worker threads parse them and run `work` on each document, and the calling thread
// consumes results strictly in input order (so outputs line up with inputs). Queues are
// bounded, so memory stays constant however large the input.
//
// Threading contract: `work` runs concurrently on worker threads and must only read shared
// state; `consume` runs on the calling thread, in order, one item at a time. Cancellation is
// checked between batches; a failing `consume` or reader stops the run and is returned.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/progress.h"
#include "data/reader.h"

namespace kanana::data {

struct PipelineOptions {
  int threads = 1;                       // workers (the reader thread is extra)
  size_t batch_records = 256;
  size_t batch_bytes = 4u << 20;
  Progress* progress = nullptr;          // bytes done of total input bytes
  const CancelToken* cancel = nullptr;
};

template <typename Out>
struct PipelineItem {
  const RawRecord* raw = nullptr;        // the record as read (its bytes: the original line)
  std::optional<Document> doc;           // set when the record parsed
  std::optional<BadLine> bad;            // set when it did not
  Out out{};                             // work(doc) result (default when bad)
};

template <typename Out>
Status run_pipeline(CorpusReader& reader, const PipelineOptions& opt,
                    const std::function<Out(const Document&)>& work,
                    const std::function<Status(PipelineItem<Out>&)>& consume) {
  struct Batch {
    uint64_t seq = 0;
    std::vector<RawRecord> raws;
    std::vector<PipelineItem<Out>> items;
  };
  const size_t threads = static_cast<size_t>(std::max(1, opt.threads));
  const size_t max_in_flight = threads * 3;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::unique_ptr<Batch>> todo;
  std::map<uint64_t, std::unique_ptr<Batch>> done;
  size_t in_flight = 0;  // batches read but not yet consumed
  bool reader_done = false, stop = false;
  Status reader_status;
  uint64_t batches_read = 0;

  std::thread reader_thread([&] {
    for (;;) {
      auto b = std::make_unique<Batch>();
      size_t bytes = 0;
      Status st;
      while (b->raws.size() < opt.batch_records && bytes < opt.batch_bytes) {
        RawRecord r;
        auto more = reader.next(&r);
        if (!more.is_ok()) { st = more.status(); break; }
        if (!*more) break;
        bytes += r.bytes.size();
        b->raws.push_back(std::move(r));
      }
      std::unique_lock<std::mutex> lock(mu);
      if (!st.is_ok()) { reader_status = st; reader_done = true; cv.notify_all(); return; }
      if (b->raws.empty()) { reader_done = true; cv.notify_all(); return; }
      cv.wait(lock, [&] { return stop || in_flight < max_in_flight; });
      if (stop) return;
      b->seq = batches_read++;
      ++in_flight;
      todo.push_back(std::move(b));
      cv.notify_all();
    }
  });

  std::vector<std::thread> workers;
  for (size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (;;) {
        std::unique_ptr<Batch> b;
        {
          std::unique_lock<std::mutex> lock(mu);
          cv.wait(lock, [&] { return stop || !todo.empty() || reader_done; });
          if (stop || (todo.empty() && reader_done)) return;
          b = std::move(todo.front());
          todo.pop_front();
        }
        b->items.resize(b->raws.size());
        for (size_t i = 0; i < b->raws.size(); ++i) {
          auto& item = b->items[i];
          item.raw = &b->raws[i];
          auto parsed = parse_record(b->raws[i], reader.options());
          if (parsed.is_ok()) {
            item.doc = std::move(parsed).value();
            item.out = work(*item.doc);
          } else {
            item.bad = reader.bad_line(b->raws[i], parsed.status().message());
          }
        }
        std::lock_guard<std::mutex> lock(mu);
        done.emplace(b->seq, std::move(b));
        cv.notify_all();
      }
    });
  }

  Status result;
  uint64_t next_seq = 0;
  for (;;) {
    std::unique_ptr<Batch> b;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait_for(lock, std::chrono::milliseconds(200), [&] {
        return done.count(next_seq) || (reader_done && next_seq == batches_read);
      });
      if (opt.cancel && opt.cancel->is_cancelled()) { result = cancelled("cancelled by the user"); break; }
      if (done.count(next_seq)) {
        b = std::move(done[next_seq]);
        done.erase(next_seq);
      } else if (reader_done && next_seq == batches_read) {
        result = reader_status;
        break;
      } else {
        continue;
      }
    }
    for (auto& item : b->items) {
      result = consume(item);
      if (!result.is_ok()) break;
    }
    if (!result.is_ok()) break;
    ++next_seq;
    if (opt.progress) opt.progress->update(static_cast<int64_t>(reader.bytes_done()), static_cast<int64_t>(reader.total_input_bytes()));
    std::lock_guard<std::mutex> lock(mu);
    --in_flight;
    cv.notify_all();
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
    cv.notify_all();
  }
  reader_thread.join();
  for (auto& w : workers) w.join();
  return result;
}

}  // namespace kanana::data
