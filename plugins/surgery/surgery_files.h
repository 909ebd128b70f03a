// Files the Surgery page works with (QtCore only, no LibTorch): model folders and token packs
// found in a workspace, importance files saved for a model, and the prune → distill pipeline
// spec (core/surgery/pipeline.h) built from the page's settings with absolute paths.
#pragma once

#include <QList>
#include <QString>
#include <QStringList>

#include "base/json.h"
#include "model/config.h"
#include "surgery/importance.h"
#include "surgery/shape.h"

namespace kanana::surgeryplugin {

struct FoundItem {
  QString label;  // "runs/tiny-cpu-demo/step-0000260"
  QString path;   // absolute folder
};

// Hugging Face model folders (config.json + safetensors) under <workspace>/models,
// <workspace>/runs/*/checkpoints/*, <workspace>/runs/*/student; newest checkpoint first per run.
QList<FoundItem> findModels(const QString& workspaceDir);
// Token packs (manifest.json of format kanana-token-shards) under <workspace>/data (4 levels).
QList<FoundItem> findPacks(const QString& workspaceDir);

// Where the page stores scores it computes: <workspace>/surgery/importance-<model>-<time>.json.
QString importanceFileFor(const QString& workspaceDir, const QString& modelDir);
// Saved importance files (newest first) computed on a model with this config.json; whether
// they belong to these very weights is checked when they are loaded.
QStringList importanceFilesFor(const QString& workspaceDir, const model::LlamaConfig& config);

struct PipelineSettings {
  QString teacher;                       // model folder
  surgery::TargetShape target;
  int steps = 2;
  surgery::ImportanceOptions importance;
  QString calibrationPack;
  int calibrationSamples = 256;
  int calibrationSeqLen = 128;
  QString importanceFile;                // optional: scores of the teacher for the first step
  QStringList trainPacks;                // distillation data (weights equal)
  qint64 tokenBudget = 204800;
  int seqLen = 128;
  int microBatch = 16;
  double peakLr = 1e-3;
  double temperature = 1.0;
  double alpha = 0.0;
  int topK = 0;
  int validationInterval = 10;
};

// The spec JSON; errors (no teacher, no packs, bad numbers) name the setting.
Result<Json> pipelineSpecJson(const PipelineSettings& settings);

}  // namespace kanana::surgeryplugin
