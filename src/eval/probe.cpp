#include "eval/probe.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/files.hpp"

namespace prealign {

namespace {

json tensor_json(const torch::Tensor& t) {
  torch::Tensor c = t.contiguous().to(torch::kFloat).flatten();
  std::vector<float> v(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return {{"shape", t.sizes().vec()}, {"data", v}};
}

torch::Tensor tensor_from(const json& j, const std::string& where) {
  const auto shape = json_required<std::vector<int64_t>>(j, "shape", where);
  const auto data = json_required<std::vector<float>>(j, "data", where);
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  require(n == static_cast<int64_t>(data.size()), where, "tensor data does not match its shape");
  return torch::tensor(data).view(shape).clone();
}

}  // namespace

torch::Tensor LinearProbe::predict_proba(const torch::Tensor& x) const {
  return torch::softmax(((x - mean) / std).matmul(weight) + bias, -1);
}

json LinearProbe::to_json() const {
  return {{"mean", tensor_json(mean)}, {"std", tensor_json(std)}, {"weight", tensor_json(weight)},
          {"bias", tensor_json(bias)}};
}

LinearProbe LinearProbe::from_json(const json& j, const std::string& where) {
  LinearProbe p;
  p.mean = tensor_from(j.at("mean"), where + ".mean");
  p.std = tensor_from(j.at("std"), where + ".std");
  p.weight = tensor_from(j.at("weight"), where + ".weight");
  p.bias = tensor_from(j.at("bias"), where + ".bias");
  require(p.weight.dim() == 2 && p.weight.size(0) == p.mean.size(0), where, "weight and mean disagree in size");
  return p;
}

LabelledTokens label_tokens(const std::string& text, const Tokenizer& tok, const ModeGrammar& g, int horizon,
                            size_t max_len) {
  LabelledTokens out;
  out.ids.push_back(Tokenizer::kBos);
  std::vector<char> is_tag = {0};
  for (const MarkupPiece& p : parse_markup(text, tok.tagset())) {
    if (p.is_tag) {
      out.ids.push_back(tok.tag_id(p.text));
      is_tag.push_back(1);
    } else {
      const bool first_text = std::none_of(is_tag.begin() + 1, is_tag.end(), [](char t) { return !t; });
      for (int id : first_text ? tok.encode_start(p.text) : tok.encode(p.text)) {
        out.ids.push_back(id);
        is_tag.push_back(0);
      }
    }
  }
  if (out.ids.size() > max_len) {
    out.ids.resize(max_len);
    is_tag.resize(max_len);
  }
  int state = g.initial;
  for (size_t t = 0; t < out.ids.size(); ++t) {
    if (is_tag[t]) {
      const auto& allow = g.allow[static_cast<size_t>(state)];
      auto it = allow.find(tok.tag_name(out.ids[t]));
      if (it != allow.end()) state = it->second;  // an illegal tag keeps the state, as lint does
    }
    out.state.push_back(state);
    int soon = 0;
    for (size_t k = t + 1; k <= t + static_cast<size_t>(horizon) && k < out.ids.size(); ++k) soon |= is_tag[k];
    out.transition.push_back(soon);
  }
  return out;
}

ProbeData collect_probe_data(LlamaModel& model, const Tokenizer& tok, const ModeGrammar& g,
                             const std::vector<std::string>& texts, int horizon) {
  torch::NoGradGuard no_grad;
  model->eval();
  const size_t max_len = static_cast<size_t>(model->config().max_seq_len);
  std::vector<std::vector<torch::Tensor>> per_layer;
  std::vector<int64_t> modes, transitions;
  for (const std::string& text : texts) {
    LabelledTokens lt = label_tokens(text, tok, g, horizon, max_len);
    std::vector<int64_t> ids(lt.ids.begin(), lt.ids.end());
    ForwardOutput out = model->forward_full(torch::tensor(ids).view({1, -1}), nullptr, true);
    if (per_layer.empty()) per_layer.resize(out.residual.size());
    for (size_t l = 0; l < out.residual.size(); ++l) per_layer[l].push_back(out.residual[l][0].to(torch::kCPU, torch::kFloat));
    modes.insert(modes.end(), lt.state.begin(), lt.state.end());
    transitions.insert(transitions.end(), lt.transition.begin(), lt.transition.end());
  }
  ProbeData d;
  for (auto& rows : per_layer) d.features.push_back(torch::cat(rows, 0));  // (N, C)
  d.mode = torch::tensor(modes);
  d.transition = torch::tensor(transitions);
  return d;
}

LinearProbe train_linear_probe(const torch::Tensor& x, const torch::Tensor& y, int classes, int steps, double lr,
                               double l2) {
  LinearProbe p;
  p.mean = x.mean(0);
  p.std = x.std(0).clamp_min(1e-6);
  const torch::Tensor z = (x - p.mean) / p.std;  // (N, C)
  torch::Tensor w = torch::zeros({x.size(1), classes}, torch::requires_grad());
  torch::Tensor b = torch::zeros({classes}, torch::requires_grad());
  torch::optim::Adam opt({w, b}, torch::optim::AdamOptions(lr));
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(z.matmul(w) + b, y) + l2 * w.pow(2).sum();
    loss.backward();
    opt.step();
  }
  p.weight = w.detach().clone();
  p.bias = b.detach().clone();
  return p;
}

double probe_accuracy(const LinearProbe& p, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  if (y.numel() == 0) return 0.0;
  return p.predict_proba(x).argmax(-1).eq(y).to(torch::kDouble).mean().item<double>();
}

json ProbeSet::to_json() const {
  json layers = json::array();
  for (size_t l = 0; l < mode.size(); ++l) layers.push_back({{"mode", mode[l].to_json()}, {"transition", transition[l].to_json()}});
  return {{"format", "prealign-probe-1"}, {"states", states}, {"horizon", horizon}, {"best_layer", best_layer},
          {"report", report}, {"layers", layers}};
}

ProbeSet ProbeSet::load(const std::string& path) {
  const json j = read_json_file(path);
  require(j.value("format", "") == "prealign-probe-1", path, "not a probe file (format prealign-probe-1)",
          "train one with prealign probe train");
  ProbeSet p;
  p.states = json_required<std::vector<std::string>>(j, "states", path);
  p.horizon = json_required<int>(j, "horizon", path);
  p.best_layer = json_required<int>(j, "best_layer", path);
  p.report = j.value("report", json::object());
  const json& layers = j.at("layers");
  for (size_t l = 0; l < layers.size(); ++l) {
    const std::string where = path + ": layers[" + std::to_string(l) + "]";
    p.mode.push_back(LinearProbe::from_json(layers[l].at("mode"), where + ".mode"));
    p.transition.push_back(LinearProbe::from_json(layers[l].at("transition"), where + ".transition"));
  }
  require(p.best_layer >= 0 && p.best_layer < static_cast<int>(p.mode.size()), path, "best_layer out of range");
  return p;
}

}  // namespace prealign

namespace prealign {

namespace {

json class_balance(const torch::Tensor& y, int classes) {
  json out = json::array();
  for (int k = 0; k < classes; ++k)
    out.push_back(y.numel() ? y.eq(k).to(torch::kDouble).mean().item<double>() : 0.0);
  return out;
}

double majority(const torch::Tensor& y, int classes) {
  double best = 0;
  for (int k = 0; k < classes; ++k) best = std::max(best, y.numel() ? y.eq(k).to(torch::kDouble).mean().item<double>() : 0.0);
  return best;
}

}  // namespace

ProbeSet train_probes(LlamaModel& model, const Tokenizer& tok, const ModeGrammar& g,
                      const std::vector<std::string>& texts, double heldout, int horizon, int steps) {
  require(texts.size() >= 4, "probe train", "need at least 4 documents");
  const size_t n_train = std::max<size_t>(1, static_cast<size_t>(double(texts.size()) * (1.0 - heldout)));
  const std::vector<std::string> train_texts(texts.begin(), texts.begin() + static_cast<long>(n_train));
  const std::vector<std::string> test_texts(texts.begin() + static_cast<long>(n_train), texts.end());
  const ProbeData tr = collect_probe_data(model, tok, g, train_texts, horizon);
  const ProbeData te = collect_probe_data(model, tok, g, test_texts, horizon);
  const int K = static_cast<int>(g.states.size());
  ProbeSet p;
  p.states = g.states;
  p.horizon = horizon;
  json layers = json::array();
  double best = -1;
  for (size_t l = 0; l < tr.features.size(); ++l) {
    p.mode.push_back(train_linear_probe(tr.features[l], tr.mode, K, steps));
    p.transition.push_back(train_linear_probe(tr.features[l], tr.transition, 2, steps));
    const double acc = probe_accuracy(p.mode[l], te.features[l], te.mode);
    layers.push_back({{"layer", l},
                      {"mode_train_accuracy", probe_accuracy(p.mode[l], tr.features[l], tr.mode)},
                      {"mode_heldout_accuracy", acc},
                      {"transition_train_accuracy", probe_accuracy(p.transition[l], tr.features[l], tr.transition)},
                      {"transition_heldout_accuracy", probe_accuracy(p.transition[l], te.features[l], te.transition)}});
    if (acc > best) {
      best = acc;
      p.best_layer = static_cast<int>(l);
    }
  }
  p.report = {{"train_documents", train_texts.size()},
              {"heldout_documents", test_texts.size()},
              {"train_positions", tr.mode.numel()},
              {"heldout_positions", te.mode.numel()},
              {"mode_class_balance_heldout", class_balance(te.mode, K)},
              {"mode_majority_baseline_heldout", majority(te.mode, K)},
              {"transition_rate_heldout", class_balance(te.transition, 2)[1]},
              {"transition_majority_baseline_heldout", majority(te.transition, 2)},
              {"layers", layers}};
  return p;
}

json evaluate_probes(const ProbeSet& probes, const ProbeData& d) {
  json layers = json::array();
  for (size_t l = 0; l < probes.mode.size() && l < d.features.size(); ++l)
    layers.push_back({{"layer", l},
                      {"mode_accuracy", probe_accuracy(probes.mode[l], d.features[l], d.mode)},
                      {"transition_accuracy", probe_accuracy(probes.transition[l], d.features[l], d.transition)}});
  const int K = static_cast<int>(probes.states.size());
  return {{"positions", d.mode.numel()}, {"mode_majority_baseline", majority(d.mode, K)},
          {"transition_majority_baseline", majority(d.transition, 2)}, {"layers", layers}};
}

ProbeReading read_probe(LlamaModel& model, const ProbeSet& probes, const std::vector<int>& context,
                        const std::vector<int>& generated) {
  torch::NoGradGuard no_grad;
  ProbeReading r;
  if (generated.empty()) return r;
  std::vector<int64_t> ids(context.begin(), context.end());
  ids.insert(ids.end(), generated.begin(), generated.end());
  const int64_t max_len = model->config().max_seq_len;
  if (static_cast<int64_t>(ids.size()) > max_len) ids.resize(static_cast<size_t>(max_len));
  ForwardOutput out = model->forward_full(torch::tensor(ids).view({1, -1}), nullptr, true);
  const torch::Tensor h = out.residual.at(static_cast<size_t>(probes.best_layer))[0].to(torch::kCPU, torch::kFloat);  // (T, C)
  // the state a generated token was produced in is read at the position before it
  const int64_t first = static_cast<int64_t>(context.size()) - 1, n = static_cast<int64_t>(ids.size()) - 1 - first;
  const torch::Tensor rows = h.narrow(0, first, n);
  const torch::Tensor pm = probes.mode[static_cast<size_t>(probes.best_layer)].predict_proba(rows).contiguous();
  const torch::Tensor pt = probes.transition[static_cast<size_t>(probes.best_layer)].predict_proba(rows).contiguous();
  for (int64_t i = 0; i < n; ++i) {
    r.mode.emplace_back(pm[i].data_ptr<float>(), pm[i].data_ptr<float>() + pm.size(1));
    r.transition.push_back(pt[i][1].item<float>());
  }
  return r;
}

ProbeAlarm ProbeAlarm::parse(const std::string& spec, const ProbeSet& probes) {
  ProbeAlarm a;
  if (spec.empty()) return a;
  const size_t colon = spec.rfind(':');
  a.mode = spec.substr(0, colon);
  std::string known;
  for (const auto& s : probes.states) known += (known.empty() ? "" : ", ") + s;
  if (std::find(probes.states.begin(), probes.states.end(), a.mode) == probes.states.end())
    fail("--probe-alarm " + spec, "unknown mode \"" + a.mode + "\"", "the probe's modes: " + known);
  if (colon != std::string::npos) {
    try {
      size_t used = 0;
      a.threshold = std::stof(spec.substr(colon + 1), &used);
      if (used != spec.size() - colon - 1) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      fail("--probe-alarm " + spec, "the threshold is not a number", "use MODE:P, e.g. human:0.9");
    }
    if (!(a.threshold >= 0.f && a.threshold <= 1.f)) fail("--probe-alarm " + spec, "the threshold must be in [0, 1]");
  }
  return a;
}

ResidualMonitor probe_monitor(const ProbeSet& probes, const ProbeAlarm& alarm) {
  const size_t layer = static_cast<size_t>(probes.best_layer);
  return [&probes, alarm, layer](size_t, const std::vector<torch::Tensor>& residual, TokenRecord& token) {
    if (layer >= residual.size()) fail("probe", "the probe reads layer " + std::to_string(layer) +
                                                    " of a model with " + std::to_string(residual.size()));
    const torch::Tensor x = residual[layer].to(torch::kCPU, torch::kFloat).view({1, -1});
    const torch::Tensor pm = probes.mode[layer].predict_proba(x).contiguous();
    const torch::Tensor pt = probes.transition[layer].predict_proba(x).contiguous();
    const float* p = pm.data_ptr<float>();
    for (size_t k = 0; k < probes.states.size(); ++k) {
      token.monitor.emplace_back("probe_" + probes.states[k], p[k]);
      if (probes.states[k] == alarm.mode && p[k] > alarm.threshold && token.state != alarm.mode)
        token.flags.push_back("probe:" + alarm.mode);
    }
    token.monitor.emplace_back("probe_transition", pt[0][1].item<float>());
  };
}

}  // namespace prealign
