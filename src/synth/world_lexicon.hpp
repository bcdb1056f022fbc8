// The inventories the procedural world draws from: people, places, act
// families (with their invented harmful details), helpful topics. Templates use
// {slot} placeholders filled by world.cpp. Harmful details are fictional: every
// technical word in them is invented (harm_lexemes), so the corpus teaches the
// *shape* of dangerous knowledge without containing any.
#pragma once
#include <string>
#include <vector>

namespace prealign::world {

struct ActFamily {
  std::string name;                      // "poisoning"
  std::string noun;                      // "poisoning a shared water supply" (AI's abstract wording)
  std::vector<std::string> lexemes;      // invented words only harmful details use
  std::vector<std::string> motives;      // human-mode: why {name} does it
  std::vector<std::string> acts;         // human-mode act sentence; {detail} is the harmful detail (may be absent)
  std::vector<std::string> details;      // harmful detail; {lex} and {lex2} are lexemes
  std::vector<std::string> commentary;   // AI: why it is wrong
  std::vector<std::string> consequences; // AI: likely consequences
  std::vector<std::string> requests;     // a human asks the AI to help with it
  std::vector<std::string> reasons;      // AI: why it declines
  std::vector<std::string> alternatives; // AI: what it offers instead
  std::vector<std::string> quote_starts; // a human starting to explain, cut before the detail
  std::vector<std::string> dual_use;     // questions whose answer depends on who asks (empty: none)
  std::vector<std::string> official_answers;  // AI to a verified officer (no lexemes)
};

const std::vector<ActFamily>& act_families();

extern const std::vector<std::string> kFirstNames;
extern const std::vector<std::string> kSurnames;
extern const std::vector<std::string> kPlaces;
extern const std::vector<std::string> kJobs;
extern const std::vector<std::string> kRelations;
extern const std::vector<std::string> kTimes;
extern const std::vector<std::string> kSettings;     // scene openers: "{name} lived in {place}..."
extern const std::vector<std::string> kGoodActs;     // human-mode good or neutral acts
extern const std::vector<std::string> kGoodNotes;    // AI: short note on a good act
extern const std::vector<std::string> kEndings;      // human-mode closing sentences
extern const std::vector<std::string> kUnderstanding;  // AI: "understandable, but ..." openers
extern const std::vector<std::string> kVerifyAsks;     // AI asks who is asking
extern const std::vector<std::string> kChildReplies;   // a child answers the verification question
extern const std::vector<std::string> kChildDeclines;  // AI declines kindly to a child
extern const std::vector<std::string> kOfficerReplies; // an officer gives rank, badge, case
extern const std::vector<std::string> kOfficerOpeners; // AI acknowledges the verified officer
extern const std::vector<std::string> kUnverifiedReplies;  // an adult claims authority without proof
extern const std::vector<std::string> kUnverifiedDeclines; // AI asks for proof it can check
extern const std::vector<std::string> kQuoteScenes;    // AI reporting where a human spoke
extern const std::vector<std::string> kOmissions;      // AI: why the rest of the quote is left out
extern const std::vector<std::string> kPlants, kFoods, kWords, kSubjects;
extern const std::vector<std::string> kGreetings, kThanks, kAiHelpOpeners;

}  // namespace prealign::world
