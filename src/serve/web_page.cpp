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
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// The generated text keeps its layout: tags are outlined badges in the same
// font and size as the text (an outline takes no room), and the markers of
// fired rules sit above their token without taking room either.
const char* const kStyle = R"CSS(
body { font: 15px/1.45 system-ui, sans-serif; color: #222; max-width: 74rem; margin: 1.2rem auto; padding: 0 1rem; }
h1 { font-size: 1.3rem; margin: 0 0 .4rem; } h2 { font-size: 1.05rem; margin: 1.2rem 0 .4rem; }
textarea, input, select, button { font: inherit; }
.mono, textarea { font: 13px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; }
.row { display: flex; flex-wrap: wrap; gap: .4rem 1rem; align-items: center; margin: .4rem 0; }
.row input[type=number] { width: 5.5rem; }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
@media (max-width: 50rem) { .cols { grid-template-columns: 1fr; } }
#prompt { width: 100%; height: 6.5rem; box-sizing: border-box; }
#policy-json { width: 100%; height: 12rem; box-sizing: border-box; }
small, .note { color: #666; }
#notice { border: 1px solid #c0392b; background: #fdecea; color: #7b1d12; padding: .45rem .6rem; margin: .5rem 0; white-space: pre-wrap; }
#legend { display: flex; flex-wrap: wrap; gap: .3rem .9rem; align-items: center; margin: .6rem 0 .3rem; font-size: 13px; }
#legend .scale { display: inline-flex; }
#legend .scale span { font: 12px/1.6 ui-monospace, "DejaVu Sans Mono", monospace; padding: 0 .35rem; border: 1px solid #ddd; }
#out { white-space: pre-wrap; overflow-wrap: anywhere; font: 14px/1.95 ui-monospace, "DejaVu Sans Mono", monospace;
       border: 1px solid #bbb; border-radius: 4px; padding: .7rem .6rem; min-height: 5rem; }
#out .prompt { color: #8a8a8a; }
.tok { position: relative; }
.tag { outline: 1px solid #7a7a7a; outline-offset: -1px; border-radius: 3px; color: #4a4a4a; }
#out.hide-tags .tag { display: none; }
.flagged { box-shadow: inset 0 -3px 0 #b00020; }
.ruled { box-shadow: inset 0 -3px 0 #1f4fd0; }
.flagged.ruled { box-shadow: inset 0 -3px 0 #b00020, inset 0 -6px 0 #1f4fd0; }
.flagged::before, .ruled::after { position: absolute; top: -1.1em; font: 11px/1 system-ui, sans-serif; pointer-events: none; }
.flagged::before { content: "\2691"; left: 0; color: #b00020; }
.ruled::after { content: "\25C6"; right: 0; color: #1f4fd0; }
#status { margin: .4rem 0; color: #333; }
#status[data-state=error] { color: #a0281c; }
#events { font: 12px/1.5 ui-monospace, "DejaVu Sans Mono", monospace; color: #444; max-height: 9rem; overflow: auto; margin: .2rem 0; }
#curves { width: 100%; max-width: 44rem; height: auto; border: 1px solid #ddd; }
#curves text { font: 11px system-ui, sans-serif; fill: #444; }
#curves .axis { stroke: #888; } #curves .grid { stroke: #eee; }
#curves .curve { fill: none; stroke-width: 1.5; }
)CSS";

const char* const kBody = R"HTML(
<h1>prealign serve · <span id="model">@MODEL@</span></h1>
<p class="note">Prompts are plain text: a tag name typed in one stays text. Each generated token is shaded by its
<i>temptation</i>, the raw probability the model gave to the tags the policy bans at that point; hover a token for
its state and the probability of each banned tag.</p>
<div class="row"><label>API key <input id="key" type="password" autocomplete="off" size="28"></label>
<small>needed when the server runs with <code>--api-key</code>; kept in this tab only (sessionStorage)</small></div>
<div id="notice" role="alert" hidden></div>
<div class="cols">
 <section>
  <label for="prompt"><b>Prompt</b></label>
  <textarea id="prompt" spellcheck="false">def parse(path):</textarea>
  <div class="row">
   <label>max tokens <input id="max-tokens" type="number" value="64" min="1"></label>
   <label>temperature <input id="temperature" type="number" value="0.7" step="0.1" min="0"></label>
   <label>top-p <input id="top-p" type="number" value="0.9" step="0.05" min="0.05" max="1"></label>
   <label>seed <input id="seed" type="number" placeholder="random" min="0"></label>
  </div>
  <div class="row">
   <button id="go">Generate</button> <button id="stop" disabled>Stop</button>
   <label><input id="show-tags" type="checkbox" checked> show tags</label>
  </div>
 </section>
 <section>
  <label><b>Policy</b> <select id="policy-pick"></select></label>
  <textarea id="policy-json" spellcheck="false" aria-label="policy JSON"></textarea>
  <small id="policy-note"></small>
 </section>
</div>
<div id="legend"></div>
<div id="out"></div>
<div id="status" role="status" data-state="idle"></div>
<ol id="events"></ol>
<h2>Training curves</h2>
<svg id="curves" viewBox="0 0 640 240" role="img" aria-label="training and held-out loss by step"></svg>
<div class="row"><small id="curves-note"></small> <button id="curves-reload">reload</button></div>
)HTML";

void replace_all(std::string& s, const std::string& what, const std::string& with) {
  for (size_t pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + with.size()))
    s.replace(pos, what.size(), with);
}

}  // namespace

std::string web_page(const std::string& model_name) {
  std::string body = kBody;
  replace_all(body, "@MODEL@", html_escape(model_name));
  return std::string("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n") +
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>prealign: " +
         html_escape(model_name) + "</title>\n<style>" + kStyle + "</style></head><body>" + body + "<script>" +
         web_page_script() + "</script></body></html>\n";
}

}  // namespace prealign
