pytest_plugins = ["tests.mosquitto", "tests.chromium", "tests.pg"]
