# CTest tests of the benchmark: smoke runs that check that things run and report, never
# their timings. Included from tests/CMakeLists.txt, where testing is enabled.
find_package(Python3 REQUIRED COMPONENTS Interpreter)
set(MMPY_BENCH_DIR ${PROJECT_SOURCE_DIR}/tools/bench)
# mmcore's `echo-inject` option, which the latency measurement relies on.
add_test(NAME bench-mmcore-echo-inject
         COMMAND ${Python3_EXECUTABLE} ${MMPY_BENCH_DIR}/test_echo_inject.py $<TARGET_FILE:mmcore>)
# pyref.so alone: a handler module runs in process, with the whole reference API.
add_test(NAME bench-pyref-roundtrip
         COMMAND ${Python3_EXECUTABLE} ${MMPY_BENCH_DIR}/test_pyref.py
                 $<TARGET_FILE:mmcore> $<TARGET_FILE_DIR:mmpy_bench_pyref>)
# The whole benchmark, very short: exit 0, JSON parses, every figure present.
add_test(NAME bench-smoke
         COMMAND ${Python3_EXECUTABLE} ${MMPY_BENCH_DIR}/test_smoke.py ${MMPY_BENCH_DIR}/mmpy-bench ${CMAKE_BINARY_DIR})
set_tests_properties(bench-smoke PROPERTIES TIMEOUT 240)
