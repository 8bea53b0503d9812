# The documentation's example module, unchanged, under the harness: its channel handler, its
# interval under virtual time, its socket handler with a real local socket.
from mm_pyhost.testing import Show


def test_the_handler_inverts_its_input(show_runner, example_dir, lighting_desk):
    show = show_runner.from_modules("example", channels=["example.in1", "out1"], directory=example_dir)
    assert show.input("example.in1", 0.25) == [(0, "out1", 0.75)]
    show.input("example.in1", 1.0)
    assert show.value("out1") == 0.0
    assert show.outputs_of("out1") == [(0, 0.75), (0, 0.0)]


def test_the_interval_ticks_on_the_virtual_clock(show_runner, example_dir, lighting_desk):
    show = show_runner.from_modules("example", channels=["example.in1", "out1"], directory=example_dir)
    show.advance(999)
    assert show.log == []
    show.advance(1)
    assert show.log == ["1000"]
    show.advance(3500)
    assert show.log == ["1000", "2000", "3000", "4000"]
    assert show.now == 4500


def test_an_hour_of_ticks_takes_no_hour(show_runner, example_dir, lighting_desk):
    show = show_runner.from_modules("example", channels=["example.in1", "out1"], directory=example_dir)
    show.advance(3600 * 1000)
    assert len(show.log) == 3600
    assert show.log[-1] == str(3600 * 1000)


def test_the_socket_handler_reads_what_the_desk_sends(show_runner, example_dir, lighting_desk):
    show = show_runner.from_modules("example", channels=["example.in1", "out1"], directory=example_dir)
    desk, _ = lighting_desk.accept()
    desk.sendall(b"GO 1")
    assert show.wait_for_log("Received") == "Received 4 bytes from socket: b'GO 1'"
    assert show.now == 0  # real I/O took real time; the show's clock did not move
    desk.close()
    show.wait_for_log("Received 0 bytes")


def test_a_show_from_its_configuration(show_runner, example_dir, lighting_desk):
    (example_dir / "show.cfg").write_text("[python py1]\nmodule = example\n[test console]\n[map]\n"
                                          "console.fader > py1.example.in1\npy1.out1 > console.led\n")
    show = show_runner.from_config(example_dir / "show.cfg", "py1")
    assert show.channels == ["example.in1", "out1"]
    show.input("example.in1", 0.5)
    assert show.value("out1") == 0.5


def test_without_the_fixture_a_with_block_stops_the_show(example_dir, lighting_desk):
    with Show.from_modules("example", channels=["example.in1", "out1"], directory=example_dir) as show:
        show.input("example.in1", 0.0)
        assert show.value("out1") == 1.0
    assert "stopped at 0 ms" in repr(show)
