#include "serve/policy_catalog.hpp"

#include "core/paths.hpp"
#include "serve/request_policy.hpp"

namespace prealign {

json policy_catalog(const std::shared_ptr<const Policy>& deployed, const TagVocabulary& vocab, bool locked) {
  json shipped = json::array();
  std::vector<std::string> names = shipped_names(kPolicyFolder);
  names.insert(names.begin(), "none");
  for (const std::string& name : names) {
    json entry = {{"name", name}, {"usable", true}, {"problem", nullptr}};
    try {
      entry["policy"] = name == "none"
                            ? Policy::unrestricted(vocab).source()
                            : read_json_file(find_shipped_file(std::string(kPolicyFolder) + "/" + name + ".json"));
      PolicyRequest asks;
      asks.policy = name;
      request_policy(asks, deployed, vocab, locked);  // what a request naming it would get
    } catch (const RequestError& e) {
      entry["usable"] = false;
      entry["problem"] = e.what();
    } catch (const Error& e) {
      entry["usable"] = false;
      entry["problem"] = e.what();
    }
    if (!entry.contains("policy")) entry["policy"] = nullptr;
    shipped.push_back(std::move(entry));
  }
  json tags = json::array();
  for (const auto& [name, id] : vocab.tags) tags.push_back({{"id", id}, {"name", name}});
  return {{"name", deployed->name()},
          {"locked", locked},
          {"policy", deployed->source()},
          {"shipped", shipped},
          {"tags", tags}};
}

}  // namespace prealign
