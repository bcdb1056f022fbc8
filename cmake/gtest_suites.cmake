# One ctest test per GoogleTest *suite* instead of per test (gtest_discover_tests).
#
# Why: each ctest test is a process, and a test binary linked with libtorch
# takes 1-2 s to start; a suite's SetUpTestSuite (a model trained for its tests)
# also ran once per test. Per suite, the ~500 tests are ~150 processes and each
# fixture is built once, while ctest -j still spreads the suites over the cores.
#
# Reporting: a suite any of whose tests called GTEST_SKIP shows as skipped
# (never as passed), so a suite should not mix tests that may skip (no CUDA, no
# npm registry) with tests that always run.
#
# PER_TEST keeps one ctest test per test for a binary whose suites are long
# but whose fixtures live on disk (tests/cli: shared_run.hpp), so that ctest -j
# can run a long suite's tests side by side.
#
# Used like gtest_discover_tests: the list is made after each build of the
# binary (it runs `--gtest_list_tests`) and included by ctest.

set(_prealign_gtest_suites_script "${CMAKE_CURRENT_LIST_FILE}")

function(prealign_gtest_suites target)
  cmake_parse_arguments(ARG "PER_TEST" "LABEL;ENVIRONMENT" "" ${ARGN})
  set(ctest_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_suites.cmake")
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND "${CMAKE_COMMAND}" -D "TEST_EXECUTABLE=$<TARGET_FILE:${target}>" -D "CTEST_FILE=${ctest_file}"
            -D "LABEL=${ARG_LABEL}" -D "TEST_ENVIRONMENT=${ARG_ENVIRONMENT}" -D "PER_TEST=${ARG_PER_TEST}"
            -P "${_prealign_gtest_suites_script}"
    BYPRODUCTS "${ctest_file}"
    VERBATIM)
  set(include_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_suites_include.cmake")
  file(WRITE "${include_file}"
       "if(EXISTS \"${ctest_file}\")\n  include(\"${ctest_file}\")\nelse()\n"
       "  add_test(${target}_NOT_BUILT ${target}_NOT_BUILT)\nendif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${include_file}")
endfunction()

# --- script mode: list the suites of TEST_EXECUTABLE into CTEST_FILE ---
if(CMAKE_SCRIPT_MODE_FILE)
  execute_process(COMMAND "${TEST_EXECUTABLE}" --gtest_list_tests
                  OUTPUT_VARIABLE listing RESULT_VARIABLE status TIMEOUT 120)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${TEST_EXECUTABLE} --gtest_list_tests failed (${status}):\n${listing}")
  endif()
  string(REPLACE ";" "\\;" listing "${listing}")
  string(REPLACE "\n" ";" lines "${listing}")
  set(suites "")
  set(suite "")
  foreach(line IN LISTS lines)
    if(line MATCHES "^([^ #][^ ]*)\\.( .*)?$")  # "Suite." or "Prefix/Suite.  # TypeParam = ..."
      set(suite "${CMAKE_MATCH_1}")
    elseif(line MATCHES "^  ([^ ]+)" AND NOT suite STREQUAL "")
      set(test "${CMAKE_MATCH_1}")
      # a suite counts once it has a test that runs by default
      if(NOT test MATCHES "^DISABLED_" AND NOT suite MATCHES "(^|/)DISABLED_")
        if(PER_TEST)
          list(APPEND suites "${suite}.${test}")
        else()
          list(APPEND suites "${suite}.*")
        endif()
      endif()
    endif()
  endforeach()
  list(REMOVE_DUPLICATES suites)
  get_filename_component(exe_name "${TEST_EXECUTABLE}" NAME)
  string(REGEX REPLACE "^test_" "" module "${exe_name}")
  set(out "# made by cmake/gtest_suites.cmake from ${exe_name} --gtest_list_tests\n")
  foreach(filter IN LISTS suites)
    string(REGEX REPLACE "\\.\\*$" "" name "${module}.${filter}")
    string(APPEND out
      "add_test([==[${name}]==] [==[${TEST_EXECUTABLE}]==] [==[--gtest_filter=${filter}]==])\n"
      "set_tests_properties([==[${name}]==] PROPERTIES LABELS [==[${LABEL}]==]"
      " ENVIRONMENT [==[${TEST_ENVIRONMENT}]==] SKIP_REGULAR_EXPRESSION [==[\\[  SKIPPED \\]]==])\n")
  endforeach()
  file(WRITE "${CTEST_FILE}" "${out}")
endif()
