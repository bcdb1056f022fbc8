#include "eval/heldout_eval.hpp"

#include <cmath>

#include "core/error.hpp"
#include "train/heldout.hpp"

namespace prealign {

std::unique_ptr<Objective> checkpoint_objective(const EvalModel& m, const Dataset& data, ObjectiveOptions options) {
  if (data.categories.empty()) options.name = "mle";  // an unscored dataset: plain text, no tags
  return make_objective(options, data, *m.tokenizer, m.checkpoint.model->parameters().front().device(),
                        m.checkpoint.config.dim);
}

ordered_json run_loss_eval(const LossEvalOptions& o) {
  EvalModel m = load_eval_model(o.model, o.device);
  const std::string data_dir = o.data.empty() ? m.trained.data : o.data;
  if (data_dir.empty()) fail(o.model + "/train_state.json", "no dataset recorded", "pass --data");
  Dataset data = Dataset::open(data_dir);
  // --untagged: MLE's layout with MLE's defaults (a tag position or labeling of the run has nothing to place)
  ObjectiveOptions layout = o.untagged ? ObjectiveOptions{} : m.trained.objective;
  if (o.untagged) layout.name = "mle";
  auto objective = checkpoint_objective(m, data, layout);
  auto planner = [&](const DocumentView& d, DocumentPlan& p) {
    objective->plan(d, p);
    p.keep = true;
  };
  const int T = o.seq_len > 0 ? o.seq_len : m.trained.seq_len;
  const int B = o.batch_size;
  int batches = o.batches;
  if (batches <= 0) batches = std::max<int>(1, static_cast<int>(data.val_tokens() / uint64_t(B * T)));
  HeldoutLoss h = heldout_loss(m.checkpoint.model, data, planner, B, T, batches);
  ordered_json rep = report_header("loss", m);
  rep["data"] = data_dir;
  rep["untagged"] = o.untagged;
  rep["loss"] = h.loss;
  rep["perplexity"] = h.perplexity;
  rep["tag_loss"] = h.tag_loss;
  rep["eval_tokens"] = h.tokens;
  rep["eval_tag_tokens"] = h.tag_tokens;
  rep["batches"] = batches;
  rep["seq_len"] = T;
  write_report(o.out, rep);
  return rep;
}

}  // namespace prealign
