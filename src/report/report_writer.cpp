#include "report/report_writer.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "common/error.h"
#include "common/file_io.h"
#include "report/svg_chart.h"

namespace cadenza::report {

namespace {

namespace fs = std::filesystem;

const std::vector<std::string>& pitch_class_names() {
  static const std::vector<std::string> kNames = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};
  return kNames;
}

std::string format_seconds(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "n/a";
  char text[32];
  if (seconds < 10) {
    std::snprintf(text, sizeof text, seconds < 1 ? "%.2fs" : "%.1fs", seconds);
    return text;
  }
  const long total = std::lround(seconds);
  if (total >= 3600)
    std::snprintf(text, sizeof text, "%ldh%02ldm", total / 3600, (total / 60) % 60);
  else if (total >= 60)
    std::snprintf(text, sizeof text, "%ldm%02lds", total / 60, total % 60);
  else
    std::snprintf(text, sizeof text, "%lds", total);
  return text;
}

std::string valid_curve_label(const std::string& name) {
  if (name == "nll") return "validation NLL";
  if (name == "elbo_per_step") return "validation ELBO bound";
  return "validation " + name;
}

std::string loss_label(const ModelReport& model) {
  if (!model.loss_description.empty()) return model.loss_description;
  return "training loss (nats per " + (model.likelihood.unit.empty() ? std::string("element") : model.likelihood.unit) +
         ")";
}

const ReferenceSet* reference_of(const Comparison& comparison, const ModelReport& model) {
  return model.reference < comparison.references.size() ? &comparison.references[model.reference] : nullptr;
}

const MetricComparison* find_metric(const std::vector<MetricComparison>& metrics, const std::string& name) {
  for (const auto& metric : metrics)
    if (metric.name == name) return &metric;
  return nullptr;
}

std::string likelihood_text(const Likelihood& likelihood) {
  switch (likelihood.kind) {
    case LikelihoodKind::kNll:
      return format_number(likelihood.value, 4);
    case LikelihoodKind::kElboBound:
      return std::isfinite(likelihood.value) ? "≤ " + format_number(likelihood.value, 4) + " (ELBO bound)" : "n/a";
    case LikelihoodKind::kNone:
      break;
  }
  return "none (GAN)";
}

std::string speed_text(const ModelReport& model) {
  const double factor = model.real_time_factor();
  if (!std::isfinite(factor)) return "n/a";
  return format_number(factor, 3) + "× real time";
}

std::string elements_unit(const ModelReport& model) {
  if (!model.likelihood.unit.empty()) return model.likelihood.unit + "s/s";
  return model.speed_unit.empty() ? "elements/s" : model.speed_unit;
}

std::string training_text(const ModelReport& model) {
  std::string text = format_seconds(model.training.seconds);
  if (model.training.steps > 0) text += ", " + std::to_string(model.training.steps) + " steps";
  if (!model.training.stop_reason.empty()) text += " (" + model.training.stop_reason + ")";
  return text;
}

// One table, written either as HTML or as Markdown.
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // cells are plain text (escaped by the writer)
  std::vector<bool> numeric;                   // right-aligned columns
};

std::string html_table(const Table& table) {
  std::string html = "<table>\n<thead><tr>";
  for (const auto& cell : table.header) html += "<th>" + xml_escape(cell) + "</th>";
  html += "</tr></thead>\n<tbody>\n";
  for (const auto& row : table.rows) {
    html += "<tr>";
    for (size_t i = 0; i < row.size(); ++i) {
      const bool numeric = i < table.numeric.size() && table.numeric[i];
      html += numeric ? "<td class=\"num\">" : "<td>";
      html += xml_escape(row[i]) + "</td>";
    }
    html += "</tr>\n";
  }
  html += "</tbody>\n</table>\n";
  return html;
}

std::string markdown_cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n')
      out += ' ';
    else
      out += c;
  }
  return out;
}

std::string markdown_table(const Table& table) {
  std::string md = "|";
  for (const auto& cell : table.header) md += " " + markdown_cell(cell) + " |";
  md += "\n|";
  for (size_t i = 0; i < table.header.size(); ++i)
    md += (i < table.numeric.size() && table.numeric[i]) ? " ---: |" : " --- |";
  md += "\n";
  for (const auto& row : table.rows) {
    md += "|";
    for (const auto& cell : row) md += " " + markdown_cell(cell) + " |";
    md += "\n";
  }
  return md + "\n";
}

Table settings_table(const Comparison& comparison) {
  Table table{{"setting", "value"}, {}, {false, false}};
  for (const auto& [key, value] : comparison.settings.items())
    table.rows.push_back({key, value.is_string() ? value.get<std::string>() : value.dump()});
  return table;
}

Table ranking_table(const Ranking& ranking) {
  Table table{{"rank", "model",
               ranking.id == "likelihood"   ? "NLL"
               : ranking.id == "statistics" ? "mean overlap area"
                                            : std::to_string(kRankingNgram) + "-grams copied"},
              {},
              {true, false, true}};
  for (const auto& entry : ranking.entries)
    table.rows.push_back({std::to_string(entry.rank), entry.model,
                          ranking.id == "originality" ? format_percent(entry.value) : format_number(entry.value, 4)});
  if (std::isfinite(ranking.reference_value))
    table.rows.push_back({"-", "reference: " + ranking.reference_label,
                          ranking.id == "originality" ? format_percent(ranking.reference_value)
                                                      : format_number(ranking.reference_value, 4)});
  for (const auto& baseline : ranking.baselines)
    table.rows.push_back({"-", "baseline: " + baseline.label, format_number(baseline.value, 4)});
  return table;
}

Table overview_table(const Comparison& comparison, const std::vector<Ranking>& rankings) {
  std::vector<std::string> statistics;
  for (const auto& ranking : rankings)
    if (ranking.id == "statistics") statistics = ranking.statistics;
  Table table{
      {"model", "family", "data", "parameters", "training", "training speed", "held-out NLL", "mean overlap area",
       std::to_string(kRankingNgram) + "-grams copied", "longest copy (notes)", "generation speed"},
      {},
      {false, false, false, true, false, true, true, true, true, true, true}};
  for (const auto& model : comparison.models) {
    const ReferenceSet* reference = reference_of(comparison, model);
    table.rows.push_back({model.name, model.family, reference ? reference->shard : "?", format_count(model.parameters),
                          training_text(model),
                          format_number(model.training.elements_per_second, 3) + " " + elements_unit(model),
                          likelihood_text(model.likelihood), format_number(mean_overlap(model.metrics, statistics), 3),
                          format_percent(model.originality.mean_share(kRankingNgram)),
                          format_number(model.originality.mean_longest_notes, 3), speed_text(model)});
  }
  for (const auto& reference : comparison.references)
    table.rows.push_back({"real vs real", "held-out pieces", reference.shard, "", "", "", "",
                          format_number(mean_overlap(reference.heldout_metrics, statistics), 3),
                          format_percent(reference.heldout_originality.mean_share(kRankingNgram)),
                          format_number(reference.heldout_originality.mean_longest_notes, 3), ""});
  return table;
}

Table facts_table(const Comparison& comparison, const ModelReport& model) {
  Table table{{"figure", "value"}, {}, {false, false}};
  const ReferenceSet* reference = reference_of(comparison, model);
  table.rows.push_back({"run", model.run + " (" + model.origin + ")"});
  table.rows.push_back({"data", reference ? reference->shard + " (" + reference->encoding + ")" : "?"});
  table.rows.push_back({"parameters", format_count(model.parameters)});
  table.rows.push_back({"training time", training_text(model)});
  table.rows.push_back(
      {"training speed", format_number(model.training.elements_per_second, 3) + " " + elements_unit(model)});
  std::string likelihood = likelihood_text(model.likelihood);
  if (model.likelihood.kind == LikelihoodKind::kNll) {
    likelihood += " nats per " + model.likelihood.unit + ", " + model.likelihood.split + " split";
    // The context it was measured at: a model scored beyond the crops it was trained on is read with that in mind.
    if (model.likelihood.window > 0)
      likelihood += ", windows of " + std::to_string(model.likelihood.window) + " " + model.likelihood.unit + "s";
    if (model.likelihood.training_crop_length > 0)
      likelihood += " (trained on crops of " + std::to_string(model.likelihood.training_crop_length) + ")";
  } else if (model.likelihood.kind == LikelihoodKind::kElboBound)
    likelihood = "≤ " + format_number(model.likelihood.value, 4) + " nats per " + model.likelihood.unit + ", " +
                 model.likelihood.split + " split (ELBO: an upper bound on the NLL, on bar-aligned windows)";
  table.rows.push_back({"held-out likelihood", likelihood});
  if (std::isfinite(model.likelihood.baseline))
    table.rows.push_back({"unigram baseline", format_number(model.likelihood.baseline, 4)});
  if (std::isfinite(model.likelihood.ngram))
    table.rows.push_back({"Kneser-Ney " + std::to_string(model.likelihood.ngram_order) + "-gram baseline",
                          format_number(model.likelihood.ngram, 4) + " (same tokens)"});
  if (std::isfinite(model.likelihood.ngram_cached))
    table.rows.push_back(
        {"Kneser-Ney " + std::to_string(model.likelihood.ngram_cached_order) + "-gram + piece cache baseline",
         format_number(model.likelihood.ngram_cached, 4) + " (same tokens)"});
  table.rows.push_back({"generation", std::to_string(model.samples.size()) + " pieces, " +
                                          format_seconds(model.music_seconds) + " of music in " +
                                          format_seconds(model.generation_seconds) + ": " + speed_text(model)});
  for (const auto& share : model.originality.shares) {
    std::string text = format_percent(share.mean) + " (pooled " + format_percent(share.pooled) + ")";
    if (reference != nullptr) {
      for (const auto& held : reference->heldout_originality.shares)
        if (held.n == share.n) text += "; held-out pieces: " + format_percent(held.mean);
    }
    table.rows.push_back({std::to_string(share.n) + "-grams found in training", text});
  }
  std::string longest = "mean " + format_number(model.originality.mean_longest_notes, 3) + " notes (" +
                        format_number(model.originality.mean_longest_bars, 3) + " bars), max " +
                        format_number(model.originality.max_longest_notes, 3) + " notes";
  if (reference != nullptr)
    longest +=
        "; held-out pieces: mean " + format_number(reference->heldout_originality.mean_longest_notes, 3) + " notes";
  table.rows.push_back({"longest copied span", longest});
  return table;
}

Table metrics_table(const Comparison& comparison, const ModelReport& model) {
  Table table{{"statistic", model.name, "training set", "overlap area", "held-out vs training"},
              {},
              {false, true, true, true, true}};
  const ReferenceSet* reference = reference_of(comparison, model);
  for (const auto& metric : model.metrics) {
    const MetricComparison* held = reference ? find_metric(reference->heldout_metrics, metric.name) : nullptr;
    table.rows.push_back({metric.name, format_number(metric.mean, 4), format_number(metric.reference_mean, 4),
                          format_number(metric.overlap_area, 3),
                          held != nullptr ? format_number(held->overlap_area, 3) : "n/a"});
  }
  return table;
}

// The form of the generated melodies beside the real ones': the training pieces and the held-out pieces.
Table form_table(const Comparison& comparison, const ModelReport& model) {
  Table table{
      {"form metric", model.name, "training set", "held-out", "overlap area"}, {}, {false, true, true, true, true}};
  const ReferenceSet* reference = reference_of(comparison, model);
  for (const auto& metric : model.form_metrics) {
    const MetricComparison* held = reference ? find_metric(reference->heldout_form_metrics, metric.name) : nullptr;
    table.rows.push_back({metric.name, format_number(metric.mean, 4), format_number(metric.reference_mean, 4),
                          held != nullptr ? format_number(held->mean, 4) : "n/a",
                          format_number(metric.overlap_area, 3)});
  }
  return table;
}

Table reference_form_table(const ReferenceSet& reference) {
  Table table{{"form metric", "held-out", "training set", "overlap area"}, {}, {false, true, true, true}};
  for (const auto& metric : reference.heldout_form_metrics)
    table.rows.push_back({metric.name, format_number(metric.mean, 4), format_number(metric.reference_mean, 4),
                          format_number(metric.overlap_area, 3)});
  return table;
}

std::string chart_name(const std::string& kind, const std::string& model) {
  return kind + "_" + model + ".svg";
}

// The inline form of a chart: HTML5 needs no namespace declaration, and the page then names no URL at all.
std::string inline_svg(const std::string& svg) {
  std::string out = svg;
  const std::string xmlns = " xmlns=\"http://www.w3.org/2000/svg\"";
  const size_t at = out.find(xmlns);
  if (at != std::string::npos) out.erase(at, xmlns.size());
  return out;
}

const Chart* find_chart(const std::vector<Chart>& charts, const std::string& file) {
  for (const auto& chart : charts)
    if (chart.file == file) return &chart;
  return nullptr;
}

const char* kStyle =
    R"(body { font-family: sans-serif; max-width: 1100px; margin: 1em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #555; font-size: 0.9em; } .figure { font-style: italic; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; } .chart { border: 1px solid #ddd; }
.samples { display: flex; flex-wrap: wrap; gap: 16px; }
.sample { border: 1px solid #ddd; padding: 6px; max-width: 100%; }
.sample img { display: block; max-width: 520px; height: auto; image-rendering: pixelated; }
)";

}  // namespace

std::string format_number(double value, int significant) {
  if (!std::isfinite(value)) return "n/a";
  char text[48];
  if (std::fabs(value) >= 1000 && std::fabs(value) < 1e15)
    std::snprintf(text, sizeof text, "%.0f", value);
  else
    std::snprintf(text, sizeof text, "%.*g", significant, value);
  return text;
}

std::string format_percent(double share) {
  if (!std::isfinite(share)) return "n/a";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", 100.0 * share);
  return text;
}

std::string format_count(int64_t count) {
  if (count < 0) return "n/a";
  char text[32];
  if (count >= 1'000'000)
    std::snprintf(text, sizeof text, "%.2fM", static_cast<double>(count) / 1e6);
  else if (count >= 10'000)
    std::snprintf(text, sizeof text, "%.1fk", static_cast<double>(count) / 1e3);
  else
    std::snprintf(text, sizeof text, "%lld", static_cast<long long>(count));
  return text;
}

std::vector<Chart> report_charts(const Comparison& comparison) {
  std::vector<Chart> charts;
  // Validation curves of every model with one, against training time: the equal-budget view.
  std::vector<LineSeries> valid_series;
  for (size_t i = 0; i < comparison.models.size(); ++i) {
    const ModelReport& model = comparison.models[i];
    if (model.training.valid_name != "nll" || model.training.valid.empty()) continue;
    LineSeries series{model.name, {}, series_colour(i), false, true};
    for (const auto& point : model.training.valid)
      series.points.emplace_back(point.elapsed_seconds / 60.0, point.value);
    valid_series.push_back(std::move(series));
  }
  if (!valid_series.empty())
    charts.push_back({"validation_nll.svg", "Validation NLL against training time",
                      line_chart_svg(valid_series, {"Validation NLL against training time", "training time (minutes)",
                                                    "NLL (nats per element)", 640, 300})});

  for (size_t i = 0; i < comparison.models.size(); ++i) {
    const ModelReport& model = comparison.models[i];
    LineSeries train{loss_label(model), {}, series_colour(i), false, false};
    for (const auto& point : model.training.train_loss) train.points.emplace_back(point.step, point.value);
    std::vector<LineSeries> lines = {train};
    if (!model.training.valid.empty()) {
      LineSeries valid{valid_curve_label(model.training.valid_name), {}, "#444444", true, true};
      for (const auto& point : model.training.valid) valid.points.emplace_back(point.step, point.value);
      lines.push_back(std::move(valid));
    }
    const std::string title = model.name + ": training curve";
    charts.push_back({chart_name("loss", model.name), title, line_chart_svg(lines, {title, "step", "loss", 520, 280})});

    const ReferenceSet* reference = reference_of(comparison, model);
    std::vector<BarSeries> bars = {
        {model.name, std::vector<double>(model.pitch_classes.begin(), model.pitch_classes.end()), series_colour(i)}};
    if (reference != nullptr)
      bars.push_back(
          {"training set",
           std::vector<double>(reference->training_pitch_classes.begin(), reference->training_pitch_classes.end()),
           "#9a9a9a"});
    const std::string histogram_title = model.name + ": pitch classes";
    charts.push_back(
        {chart_name("pitch_classes", model.name), histogram_title,
         bar_chart_svg(pitch_class_names(), bars, {histogram_title, "pitch class", "share of notes", 520, 260})});
  }
  return charts;
}

std::string render_html(const Comparison& comparison, const std::vector<Ranking>& rankings) {
  const std::vector<Chart> charts = report_charts(comparison);
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += "<title>" + xml_escape(comparison.title) + "</title>\n<style>\n" + kStyle + "</style>\n</head>\n<body>\n";
  html += "<h1>" + xml_escape(comparison.title) + "</h1>\n";
  html += html_table(settings_table(comparison));
  for (const auto& note : comparison.notes) html += "<p class=\"note\">" + xml_escape(note) + "</p>\n";

  html += "<h2 id=\"ranking\">Ranking</h2>\n";
  html +=
      "<p class=\"note\">Each ranking compares only what is comparable and names the figure it uses; "
      "see docs/compare.md.</p>\n";
  for (const auto& ranking : rankings) {
    html += "<h3>" + xml_escape(ranking.title) + "</h3>\n";
    html += "<p class=\"figure\">" + xml_escape(ranking.figure) + "</p>\n";
    if (!ranking.entries.empty()) html += html_table(ranking_table(ranking));
    if (!ranking.statistics.empty()) {
      std::string names;
      for (const auto& name : ranking.statistics) names += (names.empty() ? "" : ", ") + name;
      html += "<p class=\"note\">Statistics averaged: " + xml_escape(names) + ".</p>\n";
    }
    if (!ranking.excluded.empty()) {
      html += "<ul class=\"note\">\n";
      for (const auto& exclusion : ranking.excluded)
        html += "<li>not ranked: " + xml_escape(exclusion.model) + ": " + xml_escape(exclusion.reason) + "</li>\n";
      html += "</ul>\n";
    }
    if (!ranking.note.empty()) html += "<p class=\"note\">" + xml_escape(ranking.note) + "</p>\n";
  }

  html += "<h2 id=\"overview\">Overview</h2>\n";
  html += html_table(overview_table(comparison, rankings));
  if (const Chart* chart = find_chart(charts, "validation_nll.svg"))
    html += "<div class=\"charts\">" + inline_svg(chart->svg) + "</div>\n";

  for (const auto& model : comparison.models) {
    html += "<h2 id=\"model-" + xml_escape(model.name) + "\">" + xml_escape(model.name) +
            (model.family != model.name ? " (" + xml_escape(model.family) + ")" : "") + "</h2>\n";
    html += html_table(facts_table(comparison, model));
    html += "<div class=\"charts\">\n";
    for (const std::string& kind : {std::string("loss"), std::string("pitch_classes")})
      if (const Chart* chart = find_chart(charts, chart_name(kind, model.name))) html += inline_svg(chart->svg);
    html += "</div>\n";
    html += "<h3>Musical statistics</h3>\n" + html_table(metrics_table(comparison, model));
    if (!model.form_metrics.empty())
      html += "<h3>Form of the melody</h3>\n" + html_table(form_table(comparison, model));
    html += "<h3>Samples</h3>\n<div class=\"samples\">\n";
    for (size_t i = 0; i < model.samples.size(); ++i) {
      const SampleFiles& sample = model.samples[i];
      const std::string label = model.name + " sample " + std::to_string(i + 1);
      html += "<div class=\"sample\"><div>" + xml_escape(label) + " (" + std::to_string(sample.notes) + " notes, " +
              format_seconds(sample.music_seconds) + ")</div>\n";
      if (!sample.png.empty())
        html += "<img src=\"" + xml_escape(sample.png) + "\" alt=\"piano roll of " + xml_escape(label) + "\">\n";
      if (!sample.wav.empty())
        html += "<audio controls preload=\"none\" src=\"" + xml_escape(sample.wav) + "\"></audio>\n";
      if (!sample.midi.empty())
        html += "<div><a href=\"" + xml_escape(sample.midi) + "\" download>MIDI</a>" +
                (sample.wav.empty() ? "" : " · <a href=\"" + xml_escape(sample.wav) + "\" download>WAV</a>") +
                "</div>\n";
      html += "</div>\n";
    }
    html += "</div>\n";
  }

  html += "<h2 id=\"reference\">Real vs real</h2>\n";
  html +=
      "<p class=\"note\">The held-out (valid + test) pieces of each training set measured the same way as the "
      "models: the figures a model that generates new music of the training style would reach.</p>\n";
  for (const auto& reference : comparison.references) {
    html += "<h3>" + xml_escape(reference.shard) + "</h3>\n";
    html += "<p>" + std::to_string(reference.training_pieces) + " training pieces, " +
            std::to_string(reference.heldout_pieces) + " held-out pieces (" + xml_escape(reference.encoding) +
            ").</p>\n";
    Table table{{"statistic", "held-out", "training set", "overlap area"}, {}, {false, true, true, true}};
    for (const auto& metric : reference.heldout_metrics)
      table.rows.push_back({metric.name, format_number(metric.mean, 4), format_number(metric.reference_mean, 4),
                            format_number(metric.overlap_area, 3)});
    html += html_table(table);
    if (!reference.heldout_form_metrics.empty())
      html += "<h4>Form of the melody</h4>\n" + html_table(reference_form_table(reference));
  }
  html +=
      "<p class=\"note\">Full figures: <a href=\"results.json\">results.json</a>; the same report as Markdown: "
      "<a href=\"report.md\">report.md</a>.</p>\n";
  html += "</body>\n</html>\n";
  return html;
}

std::string render_markdown(const Comparison& comparison, const std::vector<Ranking>& rankings) {
  const std::vector<Chart> charts = report_charts(comparison);
  std::string md = "# " + comparison.title + "\n\n";
  md += markdown_table(settings_table(comparison));
  for (const auto& note : comparison.notes) md += "> " + note + "\n\n";

  md +=
      "## Ranking\n\nEach ranking compares only what is comparable and names the figure it uses; see "
      "docs/compare.md.\n\n";
  for (const auto& ranking : rankings) {
    md += "### " + ranking.title + "\n\n*" + ranking.figure + "*\n\n";
    if (!ranking.entries.empty()) md += markdown_table(ranking_table(ranking));
    if (!ranking.statistics.empty()) {
      std::string names;
      for (const auto& name : ranking.statistics) names += (names.empty() ? "" : ", ") + name;
      md += "Statistics averaged: " + names + ".\n\n";
    }
    for (const auto& exclusion : ranking.excluded)
      md += "- not ranked: " + exclusion.model + ": " + exclusion.reason + "\n";
    if (!ranking.excluded.empty()) md += "\n";
    if (!ranking.note.empty()) md += ranking.note + "\n\n";
  }

  md += "## Overview\n\n" + markdown_table(overview_table(comparison, rankings));
  if (find_chart(charts, "validation_nll.svg") != nullptr)
    md += "![Validation NLL against training time](charts/validation_nll.svg)\n\n";

  for (const auto& model : comparison.models) {
    md += "## " + model.name + (model.family != model.name ? " (" + model.family + ")" : "") + "\n\n";
    md += markdown_table(facts_table(comparison, model));
    for (const std::string& kind : {std::string("loss"), std::string("pitch_classes")})
      if (const Chart* chart = find_chart(charts, chart_name(kind, model.name)))
        md += "![" + chart->title + "](charts/" + chart->file + ")\n";
    md += "\n### Musical statistics\n\n" + markdown_table(metrics_table(comparison, model));
    if (!model.form_metrics.empty()) md += "### Form of the melody\n\n" + markdown_table(form_table(comparison, model));
    md += "### Samples\n\n";
    for (size_t i = 0; i < model.samples.size(); ++i) {
      const SampleFiles& sample = model.samples[i];
      md += "- sample " + std::to_string(i + 1) + " (" + std::to_string(sample.notes) + " notes, " +
            format_seconds(sample.music_seconds) + ")";
      if (!sample.midi.empty()) md += ": [MIDI](" + sample.midi + ")";
      if (!sample.wav.empty()) md += " · [WAV](" + sample.wav + ")";
      md += "\n";
      if (!sample.png.empty()) md += "\n  ![piano roll](" + sample.png + ")\n";
    }
    md += "\n";
  }

  md +=
      "## Real vs real\n\nThe held-out (valid + test) pieces of each training set measured the same way as the "
      "models.\n\n";
  for (const auto& reference : comparison.references) {
    md += "### " + reference.shard + "\n\n" + std::to_string(reference.training_pieces) + " training pieces, " +
          std::to_string(reference.heldout_pieces) + " held-out pieces (" + reference.encoding + ").\n\n";
    Table table{{"statistic", "held-out", "training set", "overlap area"}, {}, {false, true, true, true}};
    for (const auto& metric : reference.heldout_metrics)
      table.rows.push_back({metric.name, format_number(metric.mean, 4), format_number(metric.reference_mean, 4),
                            format_number(metric.overlap_area, 3)});
    md += markdown_table(table);
    if (!reference.heldout_form_metrics.empty())
      md += "#### Form of the melody\n\n" + markdown_table(reference_form_table(reference));
  }
  md += "Full figures: [results.json](results.json); the same report as a page: [index.html](index.html).\n";
  return md;
}

namespace {

nlohmann::ordered_json metrics_json(const std::vector<MetricComparison>& metrics) {
  nlohmann::ordered_json json = nlohmann::ordered_json::array();
  for (const auto& metric : metrics)
    json.push_back({{"name", metric.name},
                    {"mean", number_or_null(metric.mean)},
                    {"training_mean", number_or_null(metric.reference_mean)},
                    {"overlap_area", number_or_null(metric.overlap_area)},
                    {"kl_divergence", number_or_null(metric.kl_divergence)},
                    {"intra_inter_overlap_area", number_or_null(metric.intra_inter_overlap)},
                    {"pieces", metric.pieces},
                    {"training_pieces", metric.reference_pieces},
                    {"training_constant", metric.reference_constant}});
  return json;
}

nlohmann::ordered_json originality_json(const OriginalityFigures& figures) {
  nlohmann::ordered_json shares = nlohmann::ordered_json::array();
  for (const auto& share : figures.shares)
    shares.push_back({{"n", share.n},
                      {"mean_share", number_or_null(share.mean)},
                      {"pooled_share", number_or_null(share.pooled)},
                      {"pieces", share.pieces}});
  return {{"pieces", figures.pieces},
          {"mean_longest_notes", number_or_null(figures.mean_longest_notes)},
          {"max_longest_notes", number_or_null(figures.max_longest_notes)},
          {"mean_longest_bars", number_or_null(figures.mean_longest_bars)},
          {"ngrams", shares}};
}

nlohmann::ordered_json curve_json(const std::vector<CurvePoint>& points) {
  nlohmann::ordered_json json = nlohmann::ordered_json::array();
  for (const auto& point : points)
    json.push_back({number_or_null(point.step), number_or_null(point.value), number_or_null(point.elapsed_seconds)});
  return json;
}

nlohmann::ordered_json histogram_json(const std::array<double, 12>& histogram) {
  nlohmann::ordered_json json = nlohmann::ordered_json::object();
  for (size_t i = 0; i < 12; ++i) json[pitch_class_names()[i]] = histogram[i];
  return json;
}

}  // namespace

nlohmann::ordered_json results_json(const Comparison& comparison, const std::vector<Ranking>& rankings) {
  nlohmann::ordered_json json;
  json["title"] = comparison.title;
  json["settings"] = comparison.settings;
  json["notes"] = comparison.notes;
  json["rankings"] = nlohmann::ordered_json::array();
  for (const auto& ranking : rankings) json["rankings"].push_back(nlohmann::ordered_json(ranking_json(ranking)));
  json["references"] = nlohmann::ordered_json::array();
  for (const auto& reference : comparison.references)
    json["references"].push_back({{"shard", reference.shard},
                                  {"encoding", reference.encoding},
                                  {"training_pieces", reference.training_pieces},
                                  {"heldout_pieces", reference.heldout_pieces},
                                  {"heldout_metrics", metrics_json(reference.heldout_metrics)},
                                  {"heldout_form_metrics", metrics_json(reference.heldout_form_metrics)},
                                  {"heldout_originality", originality_json(reference.heldout_originality)},
                                  {"training_pitch_classes", histogram_json(reference.training_pitch_classes)},
                                  {"heldout_pitch_classes", histogram_json(reference.heldout_pitch_classes)}});
  json["models"] = nlohmann::ordered_json::array();
  for (const auto& model : comparison.models) {
    nlohmann::ordered_json entry;
    entry["name"] = model.name;
    entry["family"] = model.family;
    entry["autoregressive"] = model.autoregressive;
    entry["data"] = model.reference < comparison.references.size() ? comparison.references[model.reference].shard : "";
    entry["run"] = model.run;
    entry["origin"] = model.origin;
    entry["parameters"] = model.parameters >= 0 ? nlohmann::ordered_json(model.parameters) : nlohmann::ordered_json();
    entry["training"] = {{"seconds", number_or_null(model.training.seconds)},
                         {"steps", model.training.steps},
                         {"stop_reason", model.training.stop_reason},
                         {"elements_per_second", number_or_null(model.training.elements_per_second)},
                         {"valid_name", model.training.valid_name},
                         {"train_loss", curve_json(model.training.train_loss)},
                         {"valid", curve_json(model.training.valid)},
                         {"curve_columns", {"step", "value", "elapsed_seconds"}}};
    entry["likelihood"] = {{"kind", likelihood_kind_name(model.likelihood.kind)},
                           {"value", number_or_null(model.likelihood.value)},
                           {"unit", model.likelihood.unit},
                           {"split", model.likelihood.split},
                           {"unigram_baseline", number_or_null(model.likelihood.baseline)},
                           {"window", model.likelihood.window},
                           {"training_crop_length", model.likelihood.training_crop_length},
                           {"ngram_baseline", number_or_null(model.likelihood.ngram)},
                           {"ngram_order", model.likelihood.ngram_order},
                           {"ngram_cached_baseline", number_or_null(model.likelihood.ngram_cached)},
                           {"ngram_cached_order", model.likelihood.ngram_cached_order}};
    entry["metrics"] = metrics_json(model.metrics);
    entry["form_metrics"] = metrics_json(model.form_metrics);
    entry["originality"] = originality_json(model.originality);
    entry["pitch_classes"] = histogram_json(model.pitch_classes);
    entry["generation"] = {{"pieces", model.samples.size()},
                           {"seconds", model.generation_seconds},
                           {"music_seconds", model.music_seconds},
                           {"real_time_factor", number_or_null(model.real_time_factor())}};
    nlohmann::ordered_json samples = nlohmann::ordered_json::array();
    for (const auto& sample : model.samples)
      samples.push_back({{"midi", sample.midi},
                         {"wav", sample.wav.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(sample.wav)},
                         {"png", sample.png.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(sample.png)},
                         {"notes", sample.notes},
                         {"music_seconds", sample.music_seconds},
                         {"generation_seconds", sample.generation_seconds}});
    entry["samples"] = samples;
    entry["details"] = nlohmann::ordered_json(model.details);
    json["models"].push_back(std::move(entry));
  }
  return json;
}

void write_report(const std::string& folder, const Comparison& comparison) {
  std::error_code error;
  fs::create_directories(fs::path(folder) / "charts", error);
  if (error) throw IoError(folder + "/charts", "cannot create the folder: " + error.message());
  const std::vector<Ranking> rankings = rank_models(comparison);
  for (const auto& chart : report_charts(comparison))
    write_file_atomic((fs::path(folder) / "charts" / chart.file).string(), chart.svg);
  write_file_atomic(
      (fs::path(folder) / "results.json").string(),
      results_json(comparison, rankings).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  write_file_atomic((fs::path(folder) / "report.md").string(), render_markdown(comparison, rankings));
  // The page last: its presence says the report is complete.
  write_file_atomic((fs::path(folder) / "index.html").string(), render_html(comparison, rankings));
}

}  // namespace cadenza::report
