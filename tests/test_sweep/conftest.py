def pytest_configure(config):
    # known to pytest-xdist; registered here too for runs with -p no:xdist
    config.addinivalue_line('markers', 'xdist_group(name): run in one xdist worker')
