"""The command line: every ticketsync command, the simulator and the development reply inbox."""
