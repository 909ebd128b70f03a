// The annotation queue and its decisions (see annotation_session.h).
#include "annotation_session.h"

#include <algorithm>
#include <random>

#include "data/hashing.h"
#include "prefs/conversation.h"
#include "store/workspace.h"

namespace kanana::annotate {

QString itemStateName(ItemState state) {
  switch (state) {
    case ItemState::kWaiting: return QObject::tr("waiting for candidates");
    case ItemState::kToLabel: return QObject::tr("to label");
    case ItemState::kLabelled: return QObject::tr("labelled");
    case ItemState::kSkipped: return QObject::tr("skipped");
  }
  return {};
}

QString QueueItem::key() const {
  std::vector<qint64> sorted = candidates;
  std::sort(sorted.begin(), sorted.end());
  QString k = QString::number(promptId);
  for (qint64 id : sorted) k += QLatin1Char(':') + QString::number(id);
  return k;
}

namespace {

QString fromStd(const std::string& s) { return QString::fromStdString(s); }

}  // namespace

AnnotationSession::AnnotationSession(QObject* parent) : QObject(parent) {}
AnnotationSession::~AnnotationSession() = default;

// ---------------------------------------------------------------- what is shown

void AnnotationSession::setWorkspace(std::shared_ptr<store::Workspace> workspace) {
  workspace_ = std::move(workspace);
  store_ = workspace_ ? std::make_unique<prefs::PrefStore>(*workspace_) : nullptr;
  setId_ = 0;
  skipped_.clear();
  scores_.clear();
  if (store_ && !workspace_->read_only()) (void)store_->backfill_keys();  // older rows join de-duplication
  QString error;
  reload(&error);
}

bool AnnotationSession::reload(QString* error) {
  sets_.clear();
  checkpointNames_.clear();
  if (!store_) {
    prompts_.clear();
    candidates_.clear();
    byPrompt_.clear();
    judgements_.clear();
    setId_ = 0;
    rebuild({}, -1);
    Q_EMIT promptSetsChanged();
    return true;
  }
  auto sets = workspace_->list_prompt_sets();
  if (!sets.is_ok()) return *error = fromStd(sets.status().message()), false;
  for (const auto& s : *sets) {
    auto counts = store_->counts(s.id);
    sets_.append({s.id, fromStd(s.name), counts.is_ok() ? counts->prompts : 0});
  }
  if (auto cks = workspace_->list_checkpoints(); cks.is_ok())
    for (const auto& c : *cks) checkpointNames_[c.id] = fromStd(c.name);
  Q_EMIT promptSetsChanged();
  bool known = false;
  for (const auto& s : sets_) known = known || s.id == setId_;
  if (!known) setId_ = 0;
  return loadSet(error);
}

bool AnnotationSession::setPromptSet(qint64 id, QString* error) {
  if (id == setId_ && id != 0) return true;
  setId_ = id;
  skipped_.clear();
  currentRow_ = -1;
  return loadSet(error);
}

bool AnnotationSession::loadSet(QString* error) {
  const QString keep = current() ? current()->key() : QString();
  prompts_.clear();
  promptIndex_.clear();
  candidates_.clear();
  byPrompt_.clear();
  judgements_.clear();
  if (store_ && setId_ != 0) {
    auto prompts = store_->list_prompts(setId_);
    if (!prompts.is_ok()) return *error = fromStd(prompts.status().message()), false;
    prompts_ = std::move(prompts).value();
    for (size_t i = 0; i < prompts_.size(); ++i) promptIndex_[prompts_[i].row.id] = i;
    auto cands = store_->list_candidates_of_set(setId_);
    if (!cands.is_ok()) return *error = fromStd(cands.status().message()), false;
    for (auto& c : *cands) {
      byPrompt_[c.row.prompt_id].push_back(c.row.id);
      candidates_.emplace(c.row.id, std::move(c));
    }
    if (!reloadJudgements(error)) return false;
  } else {
    labels_.clear();
    mine_.clear();
    rankedByMe_.clear();
    disagreeing_.clear();
    disagreeingPrompts_.clear();
  }
  rebuild(keep, -1);
  return true;
}

bool AnnotationSession::reloadJudgements(QString* error) {
  auto judgements = store_->list_judgements(setId_);
  if (!judgements.is_ok()) return *error = fromStd(judgements.status().message()), false;
  judgements_ = std::move(judgements).value();
  labels_ = prefs::item_labels(judgements_);
  mine_.clear();
  rankedByMe_.clear();
  const std::string me = annotator_.toStdString();
  for (const auto& l : labels_)
    if (l.annotator == me) mine_.insert(l.item);
  for (const auto& j : judgements_)
    if (j.annotator == me && j.kind == prefs::JudgementKind::kRanking) rankedByMe_.insert(j.prompt_id);
  disagreeing_.clear();
  disagreeingPrompts_.clear();
  for (const auto& d : prefs::disagreements(labels_)) {
    disagreeing_.insert(d.item);
    disagreeingPrompts_.insert(d.item.prompt_id);
  }
  return true;
}

void AnnotationSession::setAnnotator(const QString& annotator) {
  if (annotator == annotator_) return;
  annotator_ = annotator;
  skipped_.clear();
  QString error;
  if (store_ && setId_) reloadJudgements(&error);
  rebuild(current() ? current()->key() : QString(), -1);
}

void AnnotationSession::setMode(Mode mode) {
  if (mode == mode_) return;
  mode_ = mode;
  currentRow_ = -1;
  rebuild({}, -1);
}

void AnnotationSession::setFilter(QueueFilter filter) {
  if (filter == filter_) return;
  filter_ = filter;
  rebuild(current() ? current()->key() : QString(), -1);
}

void AnnotationSession::setBlind(bool blind) {
  if (blind == blind_) return;
  blind_ = blind;
  rebuild(current() ? current()->key() : QString(), -1);
}

// ---------------------------------------------------------------- the queue

std::vector<std::vector<qint64>> AnnotationSession::groupsFor(qint64 promptId) const {
  auto it = byPrompt_.find(promptId);
  const std::vector<qint64> none;
  const std::vector<qint64>& ids = it == byPrompt_.end() ? none : it->second;
  if (ids.size() < 2) return {};
  if (mode_ == Mode::kRanking) return {ids};
  // Two models: pair the i-th candidate of one with the i-th of the other.
  std::map<std::optional<qint64>, std::vector<qint64>> by_model;
  for (qint64 id : ids) by_model[candidates_.at(id).row.checkpoint_id].push_back(id);
  std::vector<std::vector<qint64>> out;
  if (by_model.size() == 2) {
    const auto& a = by_model.begin()->second;
    const auto& b = std::next(by_model.begin())->second;
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) out.push_back({a[i], b[i]});
    return out;
  }
  for (size_t i = 0; i + 1 < ids.size(); i += 2) out.push_back({ids[i], ids[i + 1]});
  if (ids.size() % 2 == 1) out.push_back({ids.back(), ids.front()});
  return out;
}

void AnnotationSession::rebuild(const QString& keepKey, int advanceFrom) {
  items_.clear();
  for (const prefs::Prompt& p : prompts_) {
    const qint64 pid = p.row.id;
    auto groups = groupsFor(pid);
    if (groups.empty()) {
      QueueItem w;
      w.promptId = pid;
      if (auto it = byPrompt_.find(pid); it != byPrompt_.end()) w.candidates = it->second;
      w.state = ItemState::kWaiting;
      items_.push_back(std::move(w));
      continue;
    }
    for (auto& g : groups) {
      QueueItem item;
      item.promptId = pid;
      item.candidates = std::move(g);
      bool labelled = false;
      if (mode_ == Mode::kRanking) {
        labelled = rankedByMe_.count(pid) > 0;
        item.disagreement = disagreeingPrompts_.count(pid) > 0;
      } else {
        const prefs::ItemKey k{pid, std::min(item.candidates[0], item.candidates[1]),
                               std::max(item.candidates[0], item.candidates[1])};
        labelled = mine_.count(k) > 0;
        item.disagreement = disagreeing_.count(k) > 0;
      }
      item.state = labelled ? ItemState::kLabelled
                   : skipped_.contains(item.key()) ? ItemState::kSkipped
                                                   : ItemState::kToLabel;
      if (blind_) {
        std::vector<qint64> sorted = item.candidates;
        std::sort(sorted.begin(), sorted.end());
        uint64_t seed = data::hash64(annotator_.toStdString(), static_cast<uint64_t>(pid));
        for (qint64 id : sorted) seed = data::hash_combine(seed, static_cast<uint64_t>(id));
        std::mt19937_64 rng(seed);
        item.candidates = sorted;
        std::shuffle(item.candidates.begin(), item.candidates.end(), rng);
      }
      items_.push_back(std::move(item));
    }
  }
  visible_.clear();
  for (size_t i = 0; i < items_.size(); ++i) {
    const QueueItem& it = items_[i];
    bool show = true;
    if (filter_ == QueueFilter::kToLabel) show = it.state != ItemState::kLabelled;
    if (filter_ == QueueFilter::kDisagreements) show = it.disagreement;
    if (show) visible_.push_back(i);
  }
  // Skipped items go to the back of the queue.
  std::stable_partition(visible_.begin(), visible_.end(),
                        [&](size_t i) { return items_[i].state != ItemState::kSkipped; });

  int row = -1;
  if (advanceFrom >= 0) {
    // After a decision: the next item to label after the decided one, wrapping around.
    const size_t n = items_.size();
    for (size_t step = 1; step <= n && row < 0; ++step) {
      const size_t i = (size_t(advanceFrom) + step) % n;
      if (items_[i].state != ItemState::kToLabel) continue;
      auto pos = std::find(visible_.begin(), visible_.end(), i);
      if (pos != visible_.end()) row = int(pos - visible_.begin());
    }
    if (row < 0)
      for (size_t r = 0; r < visible_.size() && row < 0; ++r)
        if (items_[visible_[r]].state == ItemState::kSkipped) row = int(r);
  }
  if (row < 0 && !keepKey.isEmpty())
    for (size_t r = 0; r < visible_.size() && row < 0; ++r)
      if (items_[visible_[r]].key() == keepKey) row = int(r);
  if (row < 0 && !keepKey.isEmpty()) {
    // The item left the view (labelled, regrouped): the first one to label.
    for (size_t r = 0; r < visible_.size() && row < 0; ++r)
      if (items_[visible_[r]].state == ItemState::kToLabel) row = int(r);
  }
  if (row < 0 && !visible_.empty()) row = std::min<int>(std::max(currentRow_, 0), int(visible_.size()) - 1);
  if (visible_.empty()) row = -1;
  currentRow_ = row;
  Q_EMIT queueChanged();
  Q_EMIT currentChanged(currentRow_);
}

void AnnotationSession::setCurrentRow(int row) {
  if (row < -1 || row >= rowCount() || row == currentRow_) return;
  currentRow_ = row;
  Q_EMIT currentChanged(row);
}

void AnnotationSession::selectKey(const QString& key) {
  for (int r = 0; r < rowCount(); ++r)
    if (item(r).key() == key) {
      currentRow_ = -2;  // force the signal
      setCurrentRow(r);
      return;
    }
}

int AnnotationSession::rowOfPrompt(qint64 promptId) const {
  for (int r = 0; r < rowCount(); ++r)
    if (item(r).promptId == promptId) return r;
  return -1;
}

QueueProgress AnnotationSession::progress() const {
  QueueProgress p;
  for (const QueueItem& it : items_) {
    if (it.state == ItemState::kWaiting) {
      ++p.waiting;
      continue;
    }
    ++p.items;
    if (it.state == ItemState::kLabelled) ++p.labelled;
    if (it.state == ItemState::kSkipped) ++p.skipped;
    if (it.disagreement) ++p.disagreements;
  }
  return p;
}

QStringList AnnotationSession::annotators() const {
  std::set<std::string> names;
  for (const auto& j : judgements_) names.insert(j.annotator);
  QStringList out;
  for (const auto& n : names) out << fromStd(n);
  return out;
}

const prefs::Prompt* AnnotationSession::prompt(qint64 id) const {
  auto it = promptIndex_.find(id);
  return it == promptIndex_.end() ? nullptr : &prompts_[it->second];
}

const prefs::Candidate* AnnotationSession::candidate(qint64 id) const {
  auto it = candidates_.find(id);
  return it == candidates_.end() ? nullptr : &it->second;
}

std::vector<const prefs::Candidate*> AnnotationSession::candidatesOf(qint64 promptId) const {
  std::vector<const prefs::Candidate*> out;
  if (auto it = byPrompt_.find(promptId); it != byPrompt_.end())
    for (qint64 id : it->second) out.push_back(&candidates_.at(id));
  return out;
}

QStringList AnnotationSession::labelsOf(const QueueItem& item) const {
  QStringList out;
  if (item.candidates.size() < 2) return out;
  auto position = [&](qint64 id) {
    auto it = std::find(item.candidates.begin(), item.candidates.end(), id);
    return it == item.candidates.end() ? QString(QLatin1Char('?')) : QString::number(int(it - item.candidates.begin()) + 1);
  };
  if (mode_ == Mode::kRanking) {
    for (const auto& j : judgements_) {
      if (j.prompt_id != item.promptId || j.kind != prefs::JudgementKind::kRanking) continue;
      QStringList order;
      for (qint64 id : j.ranking) order << position(id);
      out << QStringLiteral("%1: %2").arg(fromStd(j.annotator).isEmpty() ? tr("(none)") : fromStd(j.annotator), order.join(QStringLiteral(" > ")));
    }
    return out;
  }
  const prefs::ItemKey k{item.promptId, std::min(item.candidates[0], item.candidates[1]),
                         std::max(item.candidates[0], item.candidates[1])};
  for (const auto& l : labels_) {
    if (!(l.item == k)) continue;
    QString what;
    if (l.label == prefs::PairLabel::kTie) what = tr("tie");
    else what = tr("%1 better").arg(position(l.label == prefs::PairLabel::kFirstBetter ? k.a : k.b));
    out << QStringLiteral("%1: %2").arg(l.annotator.empty() ? tr("(none)") : fromStd(l.annotator), what);
  }
  return out;
}

QString AnnotationSession::checkpointName(std::optional<qint64> checkpointId) const {
  if (!checkpointId) return tr("imported");
  auto it = checkpointNames_.find(*checkpointId);
  return it == checkpointNames_.end() ? tr("checkpoint %1").arg(*checkpointId) : it->second;
}

// ---------------------------------------------------------------- decisions

bool AnnotationSession::checkCurrent(int needed, QString* error) const {
  if (!store_) return *error = tr("No workspace is open."), false;
  if (workspace_->read_only()) return *error = tr("The workspace is open read-only."), false;
  const QueueItem* it = current();
  if (!it) return *error = tr("Nothing to label: the queue is empty."), false;
  if (it->state == ItemState::kWaiting) return *error = tr("This prompt is still waiting for candidates."), false;
  if (needed > 0 && int(it->candidates.size()) < needed)
    return *error = tr("This item has %1 candidates.").arg(it->candidates.size()), false;
  return true;
}

bool AnnotationSession::record(const prefs::Judgement& j, const QString& what, bool advance, QString* error) {
  auto rec = store_->record(j);
  if (!rec.is_ok()) return *error = fromStd(rec.status().message()), false;
  reason_.clear();
  const QString key = current()->key();
  size_t from = 0;
  if (currentRow_ >= 0) from = visible_[size_t(currentRow_)];
  if (!reloadJudgements(error)) return false;
  rebuild(key, advance ? int(from) : -1);
  Q_EMIT decisionSaved(rec->id, what);
  return true;
}

bool AnnotationSession::choose(int displayIndex, QString* error) {
  if (!checkCurrent(2, error)) return false;
  if (mode_ != Mode::kPairwise) return *error = tr("In ranking mode, rank the candidates by their numbers."), false;
  const QueueItem& it = *current();
  if (displayIndex < 0 || displayIndex > 1) return *error = tr("Press 1 or 2."), false;
  prefs::Judgement j;
  j.prompt_id = it.promptId;
  j.kind = prefs::JudgementKind::kPairwise;
  j.chosen_id = it.candidates[size_t(displayIndex)];
  j.rejected_id = it.candidates[size_t(1 - displayIndex)];
  j.annotator = annotator_.toStdString();
  j.reason = reason_.toStdString();
  skipped_.remove(it.key());
  return record(j, tr("%1 is better").arg(displayIndex + 1), true, error);
}

bool AnnotationSession::tie(QString* error) {
  if (!checkCurrent(2, error)) return false;
  if (mode_ != Mode::kPairwise) return *error = tr("A tie compares two candidates: switch to pairwise mode."), false;
  const QueueItem& it = *current();
  prefs::Judgement j;
  j.prompt_id = it.promptId;
  j.kind = prefs::JudgementKind::kTie;
  j.chosen_id = it.candidates[0];
  j.rejected_id = it.candidates[1];
  j.annotator = annotator_.toStdString();
  j.reason = reason_.toStdString();
  skipped_.remove(it.key());
  return record(j, tr("tie"), true, error);
}

bool AnnotationSession::rank(const std::vector<int>& displayOrder, QString* error) {
  if (!checkCurrent(2, error)) return false;
  const QueueItem& it = *current();
  if (displayOrder.size() < 2) return *error = tr("Rank at least two candidates."), false;
  prefs::Judgement j;
  j.prompt_id = it.promptId;
  j.kind = prefs::JudgementKind::kRanking;
  for (int d : displayOrder) {
    if (d < 0 || d >= int(it.candidates.size())) return *error = tr("There is no candidate %1.").arg(d + 1), false;
    j.ranking.push_back(it.candidates[size_t(d)]);
  }
  j.annotator = annotator_.toStdString();
  j.reason = reason_.toStdString();
  QStringList order;
  for (int d : displayOrder) order << QString::number(d + 1);
  skipped_.remove(it.key());
  return record(j, tr("ranking %1").arg(order.join(QStringLiteral(" > "))), true, error);
}

bool AnnotationSession::edit(int displayIndex, const QString& text, QString* error) {
  if (!checkCurrent(1, error)) return false;
  const QueueItem& it = *current();
  if (displayIndex < 0 || displayIndex >= int(it.candidates.size())) return *error = tr("There is no candidate %1.").arg(displayIndex + 1), false;
  const prefs::Candidate* c = candidate(it.candidates[size_t(displayIndex)]);
  if (text.trimmed().isEmpty()) return *error = tr("The edited text is empty."), false;
  if (c && fromStd(c->row.text) == text) return *error = tr("The text was not changed."), false;
  prefs::Judgement j;
  j.prompt_id = it.promptId;
  j.kind = prefs::JudgementKind::kEdit;
  j.chosen_id = it.candidates[size_t(displayIndex)];
  j.edited_text = text.toStdString();
  j.annotator = annotator_.toStdString();
  j.reason = reason_.toStdString();
  return record(j, tr("repair of %1").arg(displayIndex + 1), false, error);
}

void AnnotationSession::skip() {
  const QueueItem* it = current();
  if (!it) return;
  const QString key = it->key();
  const size_t from = visible_[size_t(currentRow_)];
  if (it->state != ItemState::kLabelled) skipped_.insert(key);
  rebuild(key, int(from));
}

bool AnnotationSession::undo(QString* error) {
  if (!store_) return *error = tr("No workspace is open."), false;
  auto undone = store_->undo_last(annotator_.toStdString(), setId_);
  if (!undone.is_ok()) return *error = fromStd(undone.status().message()), false;
  if (!undone->has_value()) return *error = tr("Nothing to undo for %1 in this prompt set.").arg(annotator_.isEmpty() ? tr("(no annotator)") : annotator_), false;
  const prefs::Judgement& j = **undone;
  if (!reloadJudgements(error)) return false;
  rebuild(current() ? current()->key() : QString(), -1);
  // Back to the undone item.
  std::vector<qint64> ids;
  if (j.kind == prefs::JudgementKind::kRanking) ids.assign(j.ranking.begin(), j.ranking.end());
  if (j.chosen_id) ids.push_back(*j.chosen_id);
  if (j.rejected_id) ids.push_back(*j.rejected_id);
  int best = -1;
  for (int r = 0; r < rowCount() && best < 0; ++r) {
    const QueueItem& it = item(r);
    if (it.promptId != j.prompt_id) continue;
    bool all = true;
    for (qint64 id : it.candidates)
      all = all && (mode_ == Mode::kRanking || std::find(ids.begin(), ids.end(), id) != ids.end());
    if (all || j.kind == prefs::JudgementKind::kEdit) best = r;
  }
  if (best < 0) best = rowOfPrompt(j.prompt_id);
  if (best >= 0) {
    skipped_.remove(item(best).key());
    selectKey(item(best).key());
  }
  Q_EMIT decisionSaved(0, tr("undid %1 (judgement %2)").arg(QString::fromLatin1(prefs::judgement_kind_name(j.kind))).arg(j.id));
  return true;
}

std::optional<qint64> AnnotationSession::preferredCandidate() const {
  const QueueItem* it = current();
  if (!it) return std::nullopt;
  const std::string me = annotator_.toStdString();
  for (auto j = judgements_.rbegin(); j != judgements_.rend(); ++j) {
    if (j->prompt_id != it->promptId || j->annotator != me) continue;
    if (j->kind == prefs::JudgementKind::kPairwise && j->chosen_id) return j->chosen_id;
    if (j->kind == prefs::JudgementKind::kRanking && !j->ranking.empty()) return j->ranking.front();
  }
  return std::nullopt;
}

qint64 AnnotationSession::continueBranch(qint64 candidateId, const QString& userText, QString* error) {
  if (!store_) return *error = tr("No workspace is open."), 0;
  auto id = store_->continue_branch(candidateId, userText.toStdString());
  if (!id.is_ok()) return *error = fromStd(id.status().message()), 0;
  if (!loadSet(error)) return 0;
  for (auto& s : sets_)
    if (s.id == setId_) ++s.prompts;
  if (int row = rowOfPrompt(*id); row >= 0) setCurrentRow(row);
  return *id;
}

// ---------------------------------------------------------------- streaming and scores

void AnnotationSession::candidateAdded(qint64 promptId, qint64 candidateId) {
  if (!store_ || candidates_.count(candidateId)) return;
  if (!promptIndex_.count(promptId)) {
    // A prompt this view does not have yet (another set, or a new branch): reload if ours.
    auto p = store_->get_prompt(promptId);
    if (p.is_ok() && p->row.prompt_set_id == setId_) {
      QString error;
      loadSet(&error);
    }
    return;
  }
  auto c = store_->get_candidate(candidateId);
  if (!c.is_ok()) return;
  byPrompt_[promptId].push_back(candidateId);
  candidates_.emplace(candidateId, std::move(c).value());
  rebuild(current() ? current()->key() : QString(), -1);
}

void AnnotationSession::setScores(qint64 promptId, const std::map<qint64, double>& scores) {
  for (const auto& [id, s] : scores) scores_[id] = s;
  Q_EMIT scoresChanged(promptId);
}

std::optional<double> AnnotationSession::score(qint64 candidateId) const {
  auto it = scores_.find(candidateId);
  if (it == scores_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::pair<qint64, double>> AnnotationSession::best(qint64 promptId) const {
  std::optional<std::pair<qint64, double>> out;
  if (auto it = byPrompt_.find(promptId); it != byPrompt_.end())
    for (qint64 id : it->second)
      if (auto s = score(id); s && (!out || *s > out->second)) out = std::make_pair(id, *s);
  return out;
}

}  // namespace kanana::annotate
