#include "eval/svg_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace prealign {
namespace {

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

// Range padded by 5% (a flat range gets a unit around it).
void padded_range(double& lo, double& hi) {
  if (!(hi > lo)) {
    lo -= 0.5 * (std::abs(lo) + 1e-12);
    hi += 0.5 * (std::abs(hi) + 1e-12);
  }
  double pad = 0.05 * (hi - lo);
  lo -= pad;
  hi += pad;
}

}  // namespace

std::string svg_plot(const std::string& title, const std::string& x_label, const std::string& y_label,
                     const std::vector<PlotSeries>& series, int width, int height) {
  const double left = 80, right = 150, top = 40, bottom = 55;
  const double pw = width - left - right, ph = height - top - bottom;
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const auto& s : series)
    for (const auto& p : s.points) {
      x0 = std::min(x0, p.x), x1 = std::max(x1, p.x);
      y0 = std::min({y0, p.y, p.y_low}), y1 = std::max({y1, p.y, p.y_high});
    }
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  padded_range(x0, x1);
  padded_range(y0, y1);
  auto X = [&](double x) { return left + (x - x0) / (x1 - x0) * pw; };
  auto Y = [&](double y) { return top + ph - (y - y0) / (y1 - y0) * ph; };

  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) + "\" height=\"" +
                  std::to_string(height) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"" + num(left + pw / 2) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">" + escape(title) +
       "</text>\n";
  s += "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(pw) + "\" height=\"" + num(ph) +
       "\" fill=\"none\" stroke=\"#444\"/>\n";
  for (int i = 0; i <= 4; ++i) {  // ticks and grid
    double xv = x0 + (x1 - x0) * i / 4, yv = y0 + (y1 - y0) * i / 4;
    s += "<line x1=\"" + num(X(xv)) + "\" y1=\"" + num(top) + "\" x2=\"" + num(X(xv)) + "\" y2=\"" + num(top + ph) +
         "\" stroke=\"#ddd\"/>\n";
    s += "<line x1=\"" + num(left) + "\" y1=\"" + num(Y(yv)) + "\" x2=\"" + num(left + pw) + "\" y2=\"" + num(Y(yv)) +
         "\" stroke=\"#ddd\"/>\n";
    s += "<text x=\"" + num(X(xv)) + "\" y=\"" + num(top + ph + 16) + "\" text-anchor=\"middle\">" + num(xv) +
         "</text>\n";
    s += "<text x=\"" + num(left - 6) + "\" y=\"" + num(Y(yv) + 4) + "\" text-anchor=\"end\">" + num(yv) + "</text>\n";
  }
  s += "<text x=\"" + num(left + pw / 2) + "\" y=\"" + num(height - 12) + "\" text-anchor=\"middle\">" +
       escape(x_label) + "</text>\n";
  s += "<text transform=\"translate(18," + num(top + ph / 2) + ") rotate(-90)\" text-anchor=\"middle\">" +
       escape(y_label) + "</text>\n";
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& se = series[k];
    const std::string color = kColors[k % (sizeof kColors / sizeof *kColors)];
    auto pts = se.points;
    if (se.line) {
      std::sort(pts.begin(), pts.end(), [](const PlotPoint& a, const PlotPoint& b) { return a.x < b.x; });
      std::string path;
      for (const auto& p : pts) path += (path.empty() ? "M" : " L") + num(X(p.x)) + " " + num(Y(p.y));
      s += "<path d=\"" + path + "\" fill=\"none\" stroke=\"" + color + "\" stroke-width=\"2\"/>\n";
    }
    for (const auto& p : pts) {
      if (p.y_high > p.y_low)
        s += "<line x1=\"" + num(X(p.x)) + "\" y1=\"" + num(Y(p.y_low)) + "\" x2=\"" + num(X(p.x)) + "\" y2=\"" +
             num(Y(p.y_high)) + "\" stroke=\"" + color + "\"/>\n";
      s += "<circle cx=\"" + num(X(p.x)) + "\" cy=\"" + num(Y(p.y)) + "\" r=\"4\" fill=\"" + color + "\"/>\n";
      if (!p.label.empty() && !se.line)
        s += "<text x=\"" + num(X(p.x) + 7) + "\" y=\"" + num(Y(p.y) - 6) + "\" fill=\"" + color + "\">" +
             escape(p.label) + "</text>\n";
    }
    const double ly = top + 14 + 18 * double(k);
    s += "<rect x=\"" + num(left + pw + 12) + "\" y=\"" + num(ly - 9) + "\" width=\"12\" height=\"12\" fill=\"" +
         color + "\"/>\n";
    s += "<text x=\"" + num(left + pw + 30) + "\" y=\"" + num(ly + 2) + "\">" + escape(se.name) + "</text>\n";
  }
  s += "</svg>\n";
  return s;
}

}  // namespace prealign
