# Which sources include libtorch, directly or through the project's own headers.
# The precompiled <torch/torch.h> is used only by those: for the others it would
# be several seconds of loading for nothing. A stale answer (a header edited
# since configure) costs build time, never correctness: a source without the
# precompiled header still includes what it needs itself.

# Sets out_var to TRUE when `file` or a project header it includes (quoted,
# looked up beside it, in src/, include/ and tests/) includes <torch/...>,
# <ATen/...>, <c10/...> or <c10d/...>. Answers are cached per file.
function(prealign_includes_torch file out_var)
  get_property(known GLOBAL PROPERTY "prealign_torch:${file}" SET)
  if(known)
    get_property(answer GLOBAL PROPERTY "prealign_torch:${file}")
    set(${out_var} ${answer} PARENT_SCOPE)
    return()
  endif()
  set_property(GLOBAL PROPERTY "prealign_torch:${file}" FALSE)  # an include cycle ends here
  set(answer FALSE)
  file(STRINGS "${file}" includes REGEX "^[ \t]*#[ \t]*include")
  get_filename_component(dir "${file}" DIRECTORY)
  foreach(line IN LISTS includes)
    if(line MATCHES "<(torch|ATen|c10|c10d)/")
      set(answer TRUE)
      break()
    elseif(line MATCHES "\"([^\"]+)\"")
      set(name "${CMAKE_MATCH_1}")
      foreach(base "${dir}" "${CMAKE_SOURCE_DIR}/src" "${CMAKE_SOURCE_DIR}/include" "${CMAKE_SOURCE_DIR}/tests")
        if(EXISTS "${base}/${name}")
          get_filename_component(header "${base}/${name}" ABSOLUTE)
          prealign_includes_torch("${header}" nested)
          if(nested)
            set(answer TRUE)
          endif()
          break()
        endif()
      endforeach()
      if(answer)
        break()
      endif()
    endif()
  endforeach()
  set_property(GLOBAL PROPERTY "prealign_torch:${file}" ${answer})
  set(${out_var} ${answer} PARENT_SCOPE)
endfunction()

# With PREALIGN_UNITY, `target` compiles in unity batches of PREALIGN_UNITY_BATCH
# sources: a torch source spends most of its time loading the precompiled header
# and instantiating and optimising the same libtorch inline code, a torch-free one
# parsing nlohmann/json and the standard headers, and a batch does each once.
function(prealign_unity target)
  if(PREALIGN_UNITY)
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_MODE BATCH
                                               UNITY_BUILD_BATCH_SIZE ${PREALIGN_UNITY_BATCH})
  endif()
endfunction()

# Unity batches share one load of the precompiled header among their sources.
# Without them (PREALIGN_UNITY=OFF), the sources of `target` that do not include
# libtorch are marked SKIP_PRECOMPILE_HEADERS: alone, the load would cost them
# more than their own compile.
function(prealign_skip_pch_without_torch target)
  if(PREALIGN_UNITY)
    prealign_unity(${target})
    return()
  endif()
  get_target_property(sources ${target} SOURCES)
  get_target_property(source_dir ${target} SOURCE_DIR)
  foreach(source IN LISTS sources)
    if(NOT source MATCHES "\\.cpp$")
      continue()
    endif()
    get_filename_component(path "${source}" ABSOLUTE BASE_DIR "${source_dir}")
    prealign_includes_torch("${path}" uses_torch)
    if(NOT uses_torch)
      set_source_files_properties("${source}" TARGET_DIRECTORY ${target} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
    endif()
  endforeach()
endfunction()
