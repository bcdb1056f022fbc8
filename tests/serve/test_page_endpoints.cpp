// What the page at / reads besides the completions: GET /v1/prealign/policy
// (the policy picker) and GET /v1/prealign/metrics (the training curves), over
// real HTTP; both need the API key as the rest of /v1 does, the page itself not.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <regex>
#include <set>

#include "core/files.hpp"
#include "core/paths.hpp"
#include "running_server.hpp"
#include "serve_fixture.hpp"

namespace prealign {
namespace {

using namespace prealign::testing;
namespace fs = std::filesystem;

json get(const RunningServer& server, const std::string& path, int expect = 200, const httplib::Headers& h = {}) {
  auto res = server.client().Get(path.c_str(), h);
  EXPECT_TRUE(res) << path;
  if (!res) return json();
  EXPECT_EQ(res->status, expect) << res->body;
  return json::parse(res->body, nullptr, false);
}

// A run directory as `prealign train` leaves it: RUN/checkpoint (the shared
// test checkpoint, linked) beside RUN/metrics.jsonl. It goes beside that
// checkpoint's folder: temp_dir() would wipe the folder of a checkpoint made in this test.
std::string run_with_checkpoint(const std::string& name) {
  const std::string& shared = shared_serve_checkpoint();
  const std::string dir = fs::path(shared).parent_path().string() + "/" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::create_directory_symlink(shared, dir + "/checkpoint");
  return dir;
}

// The tags a shipped policy file names that `tok` lacks: every quoted "<...>"
// string of the file's text (tag names look like that; nothing else in a policy does).
std::vector<std::string> tags_missing_from(const std::string& policy_file, const Tokenizer& tok) {
  std::set<std::string> known;
  for (int id : tok.tag_ids()) known.insert(tok.tag_name(id));
  const std::string text = read_file(policy_file);
  const std::regex quoted_tag("\"(<[^\"<>]+>)\"");
  std::set<std::string> missing;
  for (std::sregex_iterator m(text.begin(), text.end(), quoted_tag), end; m != end; ++m)
    if (!known.count((*m)[1].str())) missing.insert((*m)[1].str());
  return {missing.begin(), missing.end()};
}

double train_loss(int step) { return 6.0 * std::exp(-step / 900.0) + 1.0 / (step + 3); }
double val_loss(int step) { return train_loss(step) + 0.125; }

TEST(PageEndpoints, PolicyShowsTheDeploymentsPolicyTheShippedOnesAndTheTags) {
  ServeOptions o;
  o.model = shared_serve_checkpoint();
  RunningServer server(o);
  const json p = get(server, "/v1/prealign/policy");
  EXPECT_EQ(p["name"], "ai_mode");
  EXPECT_EQ(p["locked"], false);
  EXPECT_EQ(p["policy"], read_json_file(o.model + "/policy.json")) << "the JSON the deployment loaded";
  const Tokenizer tok = Tokenizer::load_dir(o.model);
  std::vector<std::string> names;
  size_t usable = 0;
  for (const json& s : p["shipped"]) {
    const std::string name = s["name"];
    names.push_back(name);
    const std::vector<std::string> missing =
        name == "none" ? std::vector<std::string>{}
                       : tags_missing_from(find_shipped_file("configs/policies/" + name + ".json"), tok);
    // Usable exactly when the model has every tag the policy names (nothing is locked here);
    // otherwise the problem names a missing tag.
    EXPECT_EQ(s["usable"], missing.empty()) << name << ": " << s["problem"];
    if (missing.empty()) {
      EXPECT_TRUE(s["problem"].is_null()) << name;
      ++usable;
    } else {
      ASSERT_TRUE(s["problem"].is_string()) << name;
      const std::string problem = s["problem"];
      EXPECT_TRUE(std::any_of(missing.begin(), missing.end(),
                              [&](const std::string& t) { return problem.find(t) != std::string::npos; }))
          << name << ": " << problem;
    }
    if (name != "none") {
      EXPECT_EQ(s["policy"], read_json_file(find_shipped_file("configs/policies/" + name + ".json"))) << name;
    }
  }
  EXPECT_GE(usable, 4u);  // none, ai_mode, good_only, good_soft at least
  std::vector<std::string> expected = shipped_names(kPolicyFolder);
  expected.insert(expected.begin(), "none");
  EXPECT_EQ(names, expected);
  // Every tag by its id, as a streamed token names it.
  ASSERT_EQ(p["tags"].size(), tok.tag_ids().size());
  for (const json& t : p["tags"]) EXPECT_EQ(tok.tag_id(t["name"].get<std::string>()), t["id"].get<int>()) << t;
}

TEST(PageEndpoints, UnderALockThePolicyEndpointSaysWhichPoliciesARequestMayName) {
  ServeOptions o;
  o.model = shared_serve_checkpoint();
  o.policy = "ai_mode";
  o.lock_policy = true;
  RunningServer server(o);
  const json p = get(server, "/v1/prealign/policy");
  EXPECT_EQ(p["locked"], true);
  for (const json& s : p["shipped"]) {
    const std::string name = s["name"];
    const bool known_tags = name == "none" || tags_missing_from(find_shipped_file("configs/policies/" + name + ".json"),
                                                                Tokenizer::load_dir(o.model))
                                                  .empty();
    if (name == "ai_mode") {
      EXPECT_EQ(s["usable"], true);
    } else if (!known_tags) {  // not the lock: the model lacks its tags, and a request naming it is a 400
      EXPECT_EQ(s["usable"], false) << name;
      const auto r = server.post("/v1/completions", {{"prompt", "x"}, {"max_tokens", 1}, {"policy", name}});
      EXPECT_EQ(r.status, 400) << name;
      EXPECT_EQ(r.body["error"]["message"], s["problem"]) << name;
    } else {  // none is looser; good_only starts with other tags
      EXPECT_EQ(s["usable"], false) << s["name"];
      EXPECT_NE(s["problem"].get<std::string>().find("locked"), std::string::npos) << s["problem"];
      // ... and a request naming it gets that refusal.
      const auto r = server.post("/v1/completions", {{"prompt", "x"}, {"max_tokens", 1}, {"policy", s["name"]}});
      EXPECT_EQ(r.status, 403);
      EXPECT_EQ(r.body["error"]["message"], s["problem"]);
    }
  }
}

TEST(PageEndpoints, MetricsAreTheRunsCurvesStridedToABound) {
  const std::string dir = run_with_checkpoint("run");
  std::string log;
  const int steps = 5000, evals = 50;
  for (int step = 1; step <= steps; ++step) {
    log += json{{"type", "train"}, {"step", step}, {"tokens", step * 256}, {"loss", train_loss(step)}, {"lr", 1e-3}}
               .dump() +
           "\n";
    if (step % (steps / evals) == 0)
      log += json{{"type", "eval"}, {"step", step}, {"val_loss", val_loss(step)}, {"val_ppl", 3.0}}.dump() + "\n";
    if (step == 7) log += "not json\n";
    if (step == 8) log += "{\"type\": \"train\", \"step\": 8, \"loss\": null}\n";  // a NaN loss is written as null
  }
  write_file_atomic(dir + "/metrics.jsonl", log);
  ServeOptions o;
  o.model = dir + "/checkpoint";
  RunningServer server(o);
  const json m = get(server, "/v1/prealign/metrics");
  ASSERT_EQ(m["available"], true) << m;
  EXPECT_EQ(m["run"], "run");
  EXPECT_EQ(m["train"]["count"], steps);
  EXPECT_EQ(m["eval"]["count"], evals);
  EXPECT_EQ(m["bad_lines"], 2);
  EXPECT_EQ(m["skipped_bytes"], 0);
  const json& train = m["train"]["points"];
  EXPECT_LE(train.size(), 2000u);
  EXPECT_GE(train.size(), 1000u) << "strided no further than it had to";
  const int stride = m["train"]["stride"];
  EXPECT_GT(stride, 1);
  for (size_t i = 0; i < train.size(); ++i) {
    const int step = train[i][0];
    // Every stride-th step from the first, then the last step.
    if (i + 1 < train.size()) {
      EXPECT_EQ(step, 1 + static_cast<int>(i) * stride);
    }
    EXPECT_EQ(train[i][1].get<double>(), train_loss(step)) << "step " << step;
  }
  EXPECT_EQ(train.back()[0], steps);
  const json& val = m["eval"]["points"];
  ASSERT_EQ(val.size(), static_cast<size_t>(evals));
  for (size_t i = 0; i < val.size(); ++i) {
    EXPECT_EQ(val[i][0], (i + 1) * (steps / evals));
    EXPECT_EQ(val[i][1].get<double>(), val_loss(val[i][0].get<int>()));
  }
}

TEST(PageEndpoints, WithoutAMetricsLogTheCurvesAreUnavailable) {
  ServeOptions o;
  o.model = shared_serve_checkpoint();  // made in a folder of its own: no metrics.jsonl beside it
  RunningServer server(o);
  const json m = get(server, "/v1/prealign/metrics");
  EXPECT_EQ(m["available"], false);
  EXPECT_TRUE(m["reason"].is_string());
}

TEST(PageEndpoints, WithAnApiKeyTheEndpointsNeedItAndThePageLoads) {
  const std::string dir = run_with_checkpoint("keyed");
  write_file_atomic(dir + "/metrics.jsonl", "{\"type\": \"train\", \"step\": 1, \"loss\": 5.5}\n");
  ServeOptions o;
  o.model = dir + "/checkpoint";
  o.api_key = "sk-page-7d41";
  RunningServer server(o);
  for (const char* path : {"/v1/prealign/policy", "/v1/prealign/metrics"}) {
    for (const httplib::Headers& h : {httplib::Headers{}, httplib::Headers{{"Authorization", "Bearer sk-page-7d4"}}}) {
      const json e = get(server, path, 401, h);
      EXPECT_EQ(e["error"]["code"], "invalid_api_key") << path;
    }
    get(server, path, 200, {{"Authorization", "Bearer sk-page-7d41"}});
  }
  EXPECT_EQ(get(server, "/v1/prealign/metrics", 200, {{"Authorization", "Bearer sk-page-7d41"}})["train"]["points"],
            json::parse("[[1, 5.5]]"));
  // The page is open (it asks for the key), and has a field for it.
  auto page = server.client().Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("id=\"key\""), std::string::npos);
  EXPECT_NE(page->body.find("sessionStorage"), std::string::npos);
  EXPECT_EQ(page->body.find("localStorage"), std::string::npos) << "the key must not outlive the tab";
}

TEST(PageEndpoints, ThePageEscapesTheModelNameAndLoadsNothingFromElsewhere) {
  ServeOptions o;
  o.model = shared_serve_checkpoint();
  o.model_name = "<img src=x onerror=alert(1)>&\"";
  RunningServer server(o);
  auto page = server.client().Get("/");
  ASSERT_TRUE(page);
  const std::string& html = page->body;
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_NE(html.find("&lt;img src=x onerror=alert(1)&gt;&amp;&quot;"), std::string::npos);
  // No external resource: the machine serving it may have no network.
  for (const char* external : {"src=\"", "href=\"", "<link", "@import", "url("})
    EXPECT_EQ(html.find(external), std::string::npos) << external;
  std::string rest = html;
  for (size_t at; (at = rest.find("http://www.w3.org/2000/svg")) != std::string::npos;) rest.erase(at, 26);
  EXPECT_EQ(rest.find("http://"), std::string::npos);
  EXPECT_EQ(rest.find("https://"), std::string::npos);
  // Model text reaches the page through textContent only.
  EXPECT_EQ(html.find("innerHTML"), std::string::npos);
  EXPECT_EQ(html.find("insertAdjacentHTML"), std::string::npos);
}

}  // namespace
}  // namespace prealign
