"""The waiting-room display: which number goes to which counter, large, live and spoken."""
