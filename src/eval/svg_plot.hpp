// A small SVG chart writer for the comparison plots: scatter or line series
// with optional vertical error bars, linear axes with ticks, a legend.
#pragma once
#include <string>
#include <vector>

namespace prealign {

struct PlotPoint {
  double x = 0, y = 0;
  double y_low = 0, y_high = 0;  // error bar (equal to y: none)
  std::string label;             // drawn next to the point (scatter only)
};

struct PlotSeries {
  std::string name;
  std::vector<PlotPoint> points;
  bool line = false;  // connect the points in x order
};

std::string svg_plot(const std::string& title, const std::string& x_label, const std::string& y_label,
                     const std::vector<PlotSeries>& series, int width = 640, int height = 420);

}  // namespace prealign
