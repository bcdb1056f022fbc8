#include "serve/web_page.hpp"

namespace prealign {
namespace {

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// Plain HTML and script: no build step, no external resources (the machine may have no network).
const char* const kPage = R"HTML(<!doctype html>
<html><head><meta charset="utf-8"><title>prealign: @MODEL@</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
textarea { width: 100%; height: 7rem; font: 14px monospace; }
#out { white-space: pre-wrap; font: 14px monospace; border: 1px solid #ccc; padding: .5rem; min-height: 4rem; }
.tag { color: #888; font-size: 12px; }
#summary { color: #555; margin-top: .5rem; }
</style></head><body>
<h1>prealign serve</h1>
<p>Model <b>@MODEL@</b> under policy <b>@POLICY@</b>. The prompt is plain text: tag names typed in it stay text.
Each generated token is shaded by its <i>temptation</i> (raw probability of the tags the policy bans at that point);
hover a token for the numbers.</p>
<textarea id="prompt">def parse(path):</textarea><br>
max tokens <input id="max" type="number" value="128" min="1" max="1024">
temperature <input id="temp" type="number" value="0.7" step="0.1" min="0">
top-p <input id="topp" type="number" value="0.9" step="0.05" min="0.05" max="1">
<button id="go">Generate</button>
<div id="out"></div><div id="summary"></div>
<script>
document.getElementById('go').onclick = async () => {
  const out = document.getElementById('out'), summary = document.getElementById('summary');
  out.textContent = ''; summary.textContent = 'generating...';
  const body = {prompt: document.getElementById('prompt').value, max_tokens: +document.getElementById('max').value,
                temperature: +document.getElementById('temp').value, top_p: +document.getElementById('topp').value};
  const res = await fetch('/v1/completions', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                              body: JSON.stringify(body)});
  const j = await res.json();
  if (!res.ok) { summary.textContent = 'error: ' + j.error.message; return; }
  const c = j.choices[0], x = c.prealign;
  for (const t of x.tokens) {
    const span = document.createElement('span');
    span.textContent = t.text;
    if (t.tag) span.className = 'tag';
    const a = Math.min(1, Math.sqrt(t.temptation_total));
    span.style.background = 'rgba(220, 40, 40, ' + a.toFixed(3) + ')';
    span.title = 'state ' + t.state + ' | temptation ' + t.temptation_total.toExponential(2) + ' ' +
                 JSON.stringify(t.temptation) + (t.flags.length ? ' | flags ' + t.flags.join(',') : '');
    out.appendChild(span);
  }
  summary.textContent = x.tokens.length + ' tokens, finish: ' + x.finish_reason + ', max temptation ' +
                        x.max_temptation.toFixed(4) + ', mean ' + x.mean_temptation.toFixed(4) + ', flags ' + x.flags;
};
</script></body></html>
)HTML";

void replace_all(std::string& s, const std::string& what, const std::string& with) {
  for (size_t pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + with.size()))
    s.replace(pos, what.size(), with);
}

}  // namespace

std::string web_page(const std::string& model_name, const std::string& policy_name) {
  std::string page = kPage;
  replace_all(page, "@MODEL@", html_escape(model_name));
  replace_all(page, "@POLICY@", html_escape(policy_name));
  return page;
}

}  // namespace prealign
