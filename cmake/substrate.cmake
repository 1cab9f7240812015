# Helpers that give every target of ours the same flags and include root.

function(substrate_add_library name)
  cmake_parse_arguments(arg "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${arg_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${name} PRIVATE ${SUBSTRATE_WARNINGS})
  target_link_libraries(${name} PUBLIC ${arg_DEPS})
endfunction()

function(substrate_add_executable name)
  cmake_parse_arguments(arg "" "OUTPUT_NAME" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${arg_SOURCES})
  target_compile_options(${name} PRIVATE ${SUBSTRATE_WARNINGS})
  target_link_libraries(${name} PRIVATE ${arg_DEPS})
  if(arg_OUTPUT_NAME)
    set_target_properties(${name} PROPERTIES OUTPUT_NAME ${arg_OUTPUT_NAME})
  endif()
endfunction()

# One GoogleTest binary per library under tests/unit/<lib>/; each test case becomes a CTest test
# so `ctest -j` spreads them over the cores.
function(substrate_add_unit_test name)
  cmake_parse_arguments(arg "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${arg_SOURCES})
  target_compile_options(${name} PRIVATE ${SUBSTRATE_WARNINGS})
  target_link_libraries(${name} PRIVATE ${arg_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 30)
  # Labels are set by a second include file run after the discovered tests are defined: passed
  # through gtest_discover_tests' PROPERTIES, a label list loses its escaping and only the first
  # label survives (so `ctest -LE rdkafka` would exclude nothing).
  set(labels_file ${CMAKE_CURRENT_BINARY_DIR}/${name}_labels.cmake)
  file(WRITE ${labels_file}
    "if(${name}_TESTS)\n  set_tests_properties(\${${name}_TESTS} PROPERTIES LABELS \"unit;${arg_LABELS}\")\nendif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${labels_file})
  add_dependencies(unit_tests ${name})
endfunction()
