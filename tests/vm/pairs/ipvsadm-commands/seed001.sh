# Seed 001's static "ipvs" script (the `–g` typo — an en dash — fixed to `-g`), with the two
# settings its keepalived.conf adds and the script lacks: persistence 50 and the weights 1/3.
VIP1=192.168.20.100
VIP2=192.168.20.101
RIP1=192.168.20.9
RIP2=192.168.20.10
ipvsadm -A -t $VIP1:80 -s wlc -p 50
ipvsadm -A -t $VIP2:80 -s wlc -p 50
ipvsadm -a -t $VIP1:80 -r $RIP1:80 -g -w 1
ipvsadm -a -t $VIP1:80 -r $RIP2:80 -g -w 3
ipvsadm -a -t $VIP2:80 -r $RIP1:80 -g -w 1
ipvsadm -a -t $VIP2:80 -r $RIP2:80 -g -w 3
