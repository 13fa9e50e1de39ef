"""The security log: failed SIP authentication (from Asterisk's AMI) and failed API logins.

One line per failure in a file fail2ban can watch (``docker/fail2ban/``). A line names a
volunteer account only when it is one; anything else a caller or guesser sent (the From user
of a carrier call is the child's number) is replaced by a fixed word.
"""
