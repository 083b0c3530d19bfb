#!/usr/bin/env python3
"""Screenshot of a player's ctfdeck challenge window in a running CTFd (screenshots/ctfd-modal.png).

Needs Debian's `chromium` and `chromium-driver`, and `pip install selenium`.
Usage: ctfd-screenshot.py BASE_URL PLAYER PASSWORD CHALLENGE_NAME OUT.png
It logs in as PLAYER, opens the challenge, clicks Start (unless running) and waits for the countdown.
"""

import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

base, player, password, challenge, out = sys.argv[1:6]
options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
for flag in ("--headless=new", "--no-sandbox", "--window-size=1100,1000", "--disable-gpu"):
    options.add_argument(flag)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
wait = WebDriverWait(driver, 60)
try:
    driver.get(base + "/login")
    driver.find_element(By.NAME, "name").send_keys(player)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
    wait.until(lambda d: "/login" not in d.current_url)
    driver.get(base + "/challenges")
    button = wait.until(
        ready.element_to_be_clickable(
            (By.XPATH, f"//button[contains(@class,'challenge-button')][.//*[contains(., '{challenge}')]]")
        )
    )
    button.click()
    wait.until(lambda d: "Checking" not in d.find_element(By.ID, "ctfdeck-panel").text)
    start = driver.find_element(By.CSS_SELECTOR, "#ctfdeck-panel .ctfdeck-start")
    if start.is_enabled():
        start.click()
    wait.until(ready.visibility_of_element_located((By.CSS_SELECTOR, "#ctfdeck-panel .ctfdeck-countdown")))
    time.sleep(2)  # a couple of countdown ticks
    driver.save_screenshot(out)
    panel = driver.find_element(By.ID, "ctfdeck-panel").text
    print(panel)
except Exception:
    driver.save_screenshot(out)
    for entry in driver.get_log("browser"):
        print(entry, file=sys.stderr)
    raise
finally:
    driver.quit()
