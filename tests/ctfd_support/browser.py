"""A player in headless Chromium (Debian's chromium + chromium-driver, selenium from PyPI), for
tests/ctfd_plugin.rs: log in, open a challenge, click its ctfdeck buttons.

Usage: browser.py BASE NAME PASSWORD CHALLENGE ACTION...   (ACTION: start | stop | look | submit:FLAG)
Prints, after each action, one JSON line with what the panel shows.
"""

import json
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

base, name, password, challenge = sys.argv[1:5]
options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for flag in ("--headless=new", "--no-sandbox", "--window-size=1100,1000", "--disable-gpu"):
    options.add_argument(flag)

# On a loaded machine chromedriver may take longer than selenium's 30 s to answer: try again.
for attempt in range(3):
    try:
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        break
    except WebDriverException:
        if attempt == 2:
            raise
wait = WebDriverWait(driver, 90)


def panel():
    return driver.find_element(By.ID, "ctfdeck-panel")


def settled(_):
    """The panel has its first answer and no request is in flight."""
    p = panel()
    return "Checking" not in p.text and p.get_attribute("data-busy") != "yes"


def shown():
    p = panel()
    countdown = p.find_element(By.CLASS_NAME, "ctfdeck-countdown")
    return {
        "state": p.find_element(By.CLASS_NAME, "ctfdeck-state").text,
        "connection": [c.text for c in p.find_elements(By.CSS_SELECTOR, ".ctfdeck-connection code")],
        "countdown": countdown.text if countdown.is_displayed() else "",
        "error": p.find_element(By.CLASS_NAME, "ctfdeck-error").get_attribute("textContent"),
        "reason": p.find_element(By.CLASS_NAME, "ctfdeck-reason").text,
        "warning": p.find_element(By.CLASS_NAME, "ctfdeck-warning").get_attribute("textContent"),
        "enabled": {
            b: p.find_element(By.CLASS_NAME, f"ctfdeck-{b}").is_enabled()
            for b in ("start", "extend", "reset", "stop")
        },
    }


DROPPED = "The scoreboard did not answer; try again."


def open_challenge():
    """Log in (once) and open the challenge's window until its panel has its first answer."""
    driver.get(base + "/challenges")
    if "/login" in driver.current_url:
        driver.get(base + "/login")
        driver.find_element(By.NAME, "name").send_keys(name)
        driver.find_element(By.NAME, "password").send_keys(password)
        driver.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
        wait.until(lambda d: "/login" not in d.current_url)
        driver.get(base + "/challenges")
    wait.until(
        ready.element_to_be_clickable(
            (By.XPATH, f"//button[contains(@class,'challenge-button')][.//*[contains(., '{challenge}')]]")
        )
    ).click()
    wait.until(ready.presence_of_element_located((By.ID, "ctfdeck-panel")))
    wait.until(settled)
    if DROPPED in panel().find_element(By.CLASS_NAME, "ctfdeck-error").get_attribute("textContent"):
        raise WebDriverException("the panel's first request was dropped")


try:
    # Chromium abandons requests in flight when the host's network changes (a container
    # engine adding a bridge): opening the window, which changes nothing, is tried again.
    for attempt in range(3):
        try:
            open_challenge()
            break
        except WebDriverException:
            if attempt == 2:
                raise
    for action in sys.argv[5:]:
        if action.startswith("submit:"):
            field = driver.find_element(By.ID, "challenge-input")
            field.clear()
            field.send_keys(action[len("submit:"):])
            driver.find_element(By.ID, "challenge-submit").click()
            answer = wait.until(
                ready.visibility_of_element_located((By.CSS_SELECTOR, ".notification-row .alert strong"))
            ).text
            time.sleep(1)  # the panel asks again after a submission
            wait.until(settled)
            print(json.dumps(dict(shown(), action="submit", answer=answer)), flush=True)
            continue
        if action == "look":
            # Let the countdown tick a couple of times.
            time.sleep(2.5)
            print(json.dumps(dict(shown(), action=action)), flush=True)
            continue
        panel().find_element(By.CLASS_NAME, f"ctfdeck-{action}").click()
        if action in ("stop", "reset"):
            wait.until(ready.alert_is_present()).accept()
        wait.until(settled)
        print(json.dumps(dict(shown(), action=action)), flush=True)
except Exception as e:
    logs = [entry["message"] for entry in driver.get_log("browser")] if driver else []
    print(json.dumps({"error": f"{type(e).__name__}: {e}", "console": logs}), flush=True)
    sys.exit(1)
finally:
    driver.quit()
